import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  generateRegistration,
  writeRegistration,
  loadRegistration,
  ensureRegistration,
  templateToRegex,
  type Registration,
} from '../../src/appservice/registration';
import { LocalpartTemplate } from '../../src/portals/templates';
import { ConfigError } from '../../src/config/errors';
import { redact } from '../../src/logging/logger';
import { testProtocol } from '../config/fixtures/protocol';

const base = { url: 'http://127.0.0.1:9898', protocol: testProtocol, domain: 'example.org' };

describe('appservice registration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'causeway-reg-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills every required key from the protocol', () => {
    const reg = generateRegistration(base);
    assert.equal(reg.id, 'causeway-test');
    assert.equal(reg.url, 'http://127.0.0.1:9898');
    assert.equal(reg.sender_localpart, '_test_bot');
    assert.equal(reg.rate_limited, false);
    assert.deepEqual(reg.protocols, ['test']);
    assert.equal(reg.receive_ephemeral, true);
    assert.equal(reg['de.sorunome.msc2409.push_ephemeral'], true);
    assert.deepEqual(reg.namespaces.rooms, []);
    const noEph = generateRegistration({ ...base, protocol: { ...testProtocol, wantsEphemeral: false } });
    assert.equal(noEph.receive_ephemeral, undefined);
    assert.equal(noEph['de.sorunome.msc2409.push_ephemeral'], undefined);
  });

  it('issues distinct tokens with at least 32 bytes of entropy', () => {
    const a = generateRegistration(base);
    const b = generateRegistration(base);
    for (const t of [a.as_token, a.hs_token]) {
      assert.match(t, /^[A-Za-z0-9_-]+$/, 'base64url');
      assert.ok(Buffer.from(t, 'base64url').length >= 32, `${t.length} chars`);
    }
    assert.equal(new Set([a.as_token, a.hs_token, b.as_token, b.hs_token]).size, 4);
  });

  it('derives anchored, escaped namespace regexes that match ghosts and not outsiders', () => {
    const reg = generateRegistration({ ...base, domain: 'chat.example.org' });
    const users = reg.namespaces.users.map((n) => {
      assert.equal(n.exclusive, true);
      return new RegExp(n.regex);
    });
    const aliases = reg.namespaces.aliases.map((n) => new RegExp(n.regex));
    for (const n of [...reg.namespaces.users, ...reg.namespaces.aliases]) {
      assert.ok(n.regex.startsWith('^') && n.regex.endsWith('$'), n.regex);
      assert.ok(n.regex.includes('chat\\.example\\.org'), n.regex);
    }
    const tpl = new LocalpartTemplate(testProtocol.defaults.ghostLocalpartTemplate);
    const ghost = `@${tpl.render({ network: 'Libera.Chat', id: 'Some_Nick[m]' })}:chat.example.org`;
    const matchesUser = (id: string) => users.some((r) => r.test(id));
    assert.ok(matchesUser(ghost), ghost);
    assert.ok(matchesUser('@_test_bot:chat.example.org'), 'the bot is in the namespace');
    assert.ok(!matchesUser('@alice:chat.example.org'));
    assert.ok(!matchesUser('@_test_x_y:chatXexample.org'), 'dots in the domain are escaped');
    assert.ok(!matchesUser('@_test_x_y:chat.example.org.evil.com'), 'anchored at the end');
    assert.ok(!matchesUser('@x_test_x_y:chat.example.org'), 'anchored at the start');
    assert.ok(!matchesUser('@_test_x_y:example.org'), 'other domains');
    assert.ok(aliases.some((r) => r.test(`#${tpl.render({ network: 'libera', id: '#chan' })}:chat.example.org`)));
    assert.ok(!aliases.some((r) => r.test('#random:chat.example.org')));
  });

  it('escapes regex metacharacters in fixed template parts', () => {
    const re = templateToRegex('@', 'irc.$NETWORK+$ID', 'hs.example');
    assert.equal(re, '^@irc\\..*\\+.*:hs\\.example$');
    assert.ok(!new RegExp(re).test('@ircX.libera+nick:hs.example'));
    assert.ok(new RegExp(re).test('@irc.libera+nick:hs.example'));
  });

  it('honours configured bot localpart and template overrides', () => {
    const reg = generateRegistration({
      ...base,
      botLocalpart: 'ircbot',
      ghostTemplate: 'irc_$ID',
      aliasTemplate: undefined,
      protocol: { ...testProtocol, defaults: { ...testProtocol.defaults, aliasLocalpartTemplate: undefined } },
    });
    assert.equal(reg.sender_localpart, 'ircbot');
    assert.deepEqual(
      reg.namespaces.users.map((n) => n.regex),
      ['^@irc_.*:example\\.org$', '^@ircbot:example\\.org$'],
    );
    assert.deepEqual(reg.namespaces.aliases, []);
  });

  it('writes YAML readable by the owner only and loads it back', () => {
    const file = path.join(dir, 'sub', 'registration.yaml');
    const reg = generateRegistration(base);
    writeRegistration(file, reg);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const back = loadRegistration(file);
    assert.deepEqual({ ...back }, { ...reg });
    assert.equal(redact(`token ${reg.hs_token}`), 'token <redacted>');
  });

  it('names every missing or malformed key when loading', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'id: x\nurl: 42\nas_token: same-token-1\nhs_token: same-token-1\nnamespaces:\n  users: [{regex: "(("}]\n');
    try {
      loadRegistration(file);
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const p = e.problems.join('\n');
      assert.match(p, /^sender_localpart: required value missing/m);
      assert.match(p, /^url: wrong type/m);
      assert.match(p, /^hs_token: must differ from as_token/m);
      assert.match(p, /^namespaces\.users\[0\]\.regex: invalid regular expression/m);
      assert.match(p, /^namespaces\.users\[0\]\.exclusive: required value missing/m);
    }
  });

  it('re-running keeps the tokens and updates URL and namespaces, saying so', () => {
    const file = path.join(dir, 'registration.yaml');
    const first = ensureRegistration(file, base);
    assert.equal(first.created, true);
    const again = ensureRegistration(file, base);
    assert.equal(again.created, false);
    assert.equal(again.updated, false);
    assert.deepEqual(again.changes, []);
    assert.equal(again.registration.as_token, first.registration.as_token);

    const moved = ensureRegistration(file, { ...base, url: 'http://bridge:9000', ghostTemplate: 'tst_$ID' });
    assert.equal(moved.updated, true);
    assert.equal(moved.registration.as_token, first.registration.as_token);
    assert.equal(moved.registration.hs_token, first.registration.hs_token);
    assert.ok(
      moved.changes.some((c) => c.startsWith('url changed from "http://127.0.0.1:9898" to "http://bridge:9000"')),
      moved.changes.join('\n'),
    );
    assert.ok(moved.changes.some((c) => c.startsWith('namespaces.users changed')));
    assert.ok(!moved.changes.some((c) => c.includes('token')));
    const onDisk = loadRegistration(file);
    assert.equal(onDisk.url, 'http://bridge:9000');
    assert.equal(onDisk.as_token, first.registration.as_token);
  });

  it('keeps the existing ID and extra keys an admin added', () => {
    const existing: Registration = { ...generateRegistration(base), id: 'my-old-id', 'org.example.custom': 1 };
    const reg = generateRegistration({ ...base, existing });
    assert.equal(reg.id, 'my-old-id');
    assert.equal(reg['org.example.custom'], 1);
  });

  it('rotates tokens only with forceNewTokens', () => {
    const file = path.join(dir, 'registration.yaml');
    const first = ensureRegistration(file, base).registration;
    const rotated = ensureRegistration(file, { ...base, forceNewTokens: true });
    assert.notEqual(rotated.registration.as_token, first.as_token);
    assert.notEqual(rotated.registration.hs_token, first.hs_token);
    assert.deepEqual(rotated.changes, ['as_token changed', 'hs_token changed']);
    assert.equal(rotated.registration.id, first.id);
    assert.equal(loadRegistration(file).as_token, rotated.registration.as_token);
    assert.ok(!readFileSync(file, 'utf8').includes(first.as_token));
  });
});
