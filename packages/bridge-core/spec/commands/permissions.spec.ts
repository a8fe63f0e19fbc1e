import { strict as assert } from 'node:assert';
import { matchesUserGlob, PermissionChecker } from '../../src/commands/permissions';

describe('commands: permissions', () => {
  describe('matchesUserGlob', () => {
    it('matches exact user IDs', () => {
      assert.ok(matchesUserGlob('@admin:example.org', '@admin:example.org'));
      assert.ok(!matchesUserGlob('@admin2:example.org', '@admin:example.org'));
      assert.ok(!matchesUserGlob('@xadmin:example.org', '@admin:example.org'));
      assert.ok(!matchesUserGlob('@admin:example.org.evil', '@admin:example.org'));
    });

    it('matches a whole server with @*:server', () => {
      assert.ok(matchesUserGlob('@alice:example.org', '@*:example.org'));
      assert.ok(matchesUserGlob('@a.b-c=d/e:example.org', '@*:example.org'));
    });

    it('does not let the server part be extended or prefixed', () => {
      assert.ok(!matchesUserGlob('@evil:example.org.attacker.com', '@*:example.org'));
      assert.ok(!matchesUserGlob('@evil:attacker-example.org', '@*:example.org'));
      assert.ok(!matchesUserGlob('@evil:notexample.org', '@*:example.org'));
      assert.ok(!matchesUserGlob('@evil:attacker.com:example.org', '@*:example.org'));
      assert.ok(!matchesUserGlob('@evil:example.org:8448', '@*:example.org'));
    });

    it('treats regex metacharacters literally', () => {
      assert.ok(!matchesUserGlob('@alice:exampleXorg', '@*:example.org'));
      assert.ok(matchesUserGlob('@a+b:example.org', '@a+b:example.org'));
      assert.ok(!matchesUserGlob('@aab:example.org', '@a+b:example.org'));
      assert.ok(!matchesUserGlob('@a:example.org', '@(a|b):example.org'));
      assert.ok(matchesUserGlob('@(a|b):example.org', '@(a|b):example.org'));
      assert.ok(!matchesUserGlob('@x:example.org', '@[xy]:example.org'));
      assert.ok(!matchesUserGlob('@alice:example.org', '@alice:example.org$|.*'));
    });

    it('matches everyone with *', () => {
      assert.ok(matchesUserGlob('@anyone:anywhere.net', '*'));
      assert.ok(matchesUserGlob('@a:b:8448', '*'));
      assert.ok(!matchesUserGlob('not a user', '*'));
      assert.ok(!matchesUserGlob('', '*'));
      assert.ok(!matchesUserGlob('!room:example.org', '*'));
    });

    it('supports wildcards in the server part and ?', () => {
      assert.ok(matchesUserGlob('@alice:matrix.example.org', '@*:*.example.org'));
      assert.ok(!matchesUserGlob('@alice:example.org', '@*:*.example.org'));
      assert.ok(matchesUserGlob('@admin:example.org:8448', '@admin:*'));
      assert.ok(matchesUserGlob('@bot1:example.org', '@bot?:example.org'));
      assert.ok(!matchesUserGlob('@bot12:example.org', '@bot?:example.org'));
    });

    it('matches the server case-insensitively but the localpart exactly', () => {
      assert.ok(matchesUserGlob('@alice:Example.ORG', '@*:example.org'));
      assert.ok(!matchesUserGlob('@Admin:example.org', '@admin:example.org'));
    });

    it('matches nothing with an empty glob', () => {
      assert.ok(!matchesUserGlob('@alice:example.org', ''));
    });
  });

  describe('PermissionChecker', () => {
    it('knows admins and users', () => {
      const p = new PermissionChecker({ admins: ['@boss:example.org'], users: ['@*:example.org', '@friend:other.net'] });
      assert.ok(p.isAdmin('@boss:example.org'));
      assert.ok(!p.isAdmin('@alice:example.org'));
      assert.ok(p.mayUseBridge('@alice:example.org'));
      assert.ok(p.mayUseBridge('@friend:other.net'));
      assert.ok(!p.mayUseBridge('@stranger:other.net'));
      assert.ok(!p.mayUseBridge('@evil:example.org.attacker.com'));
      assert.equal(p.level('@boss:example.org'), 'admin');
      assert.equal(p.level('@alice:example.org'), 'user');
      assert.equal(p.level('@stranger:other.net'), 'none');
    });

    it('lets admins use the bridge even when not listed as users', () => {
      const p = new PermissionChecker({ admins: ['@boss:elsewhere.org'], users: ['@*:example.org'] });
      assert.ok(p.mayUseBridge('@boss:elsewhere.org'));
    });

    it('allows everyone when users is absent, only admins when it is empty', () => {
      assert.ok(new PermissionChecker({}).mayUseBridge('@x:y.org'));
      assert.ok(!new PermissionChecker({}).isAdmin('@x:y.org'));
      const p = new PermissionChecker({ admins: ['@a:y.org'], users: [] });
      assert.ok(!p.mayUseBridge('@x:y.org'));
      assert.ok(p.mayUseBridge('@a:y.org'));
    });
  });
});
