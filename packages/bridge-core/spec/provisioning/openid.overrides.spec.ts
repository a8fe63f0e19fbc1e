/**
 * OpenID provisioning sessions for users of the bridge's own homeserver, which often does not
 * federate: the token is looked up at `homeserver.url` (Synapse serves the userinfo endpoint on
 * its client listener), and homeservers on the LAN at the URL `provisioning.openid.overrides`
 * gives. Everything else keeps server discovery and the address guard.
 */
import { strict as assert } from 'node:assert';
import { asString, HomeserverEmulator, type TestUser } from '@causeway/testing';
import { OpenIdError, OpenIdVerifier } from '../../src/provisioning/openid';
import { validateConfig } from '../../src/config/loader';
import { captureLogger } from './helpers';

async function openIdToken(user: TestUser): Promise<{ access_token: string; matrix_server_name: string }> {
  const r = await user.request('POST', `/user/${encodeURIComponent(user.userId)}/openid/request_token`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return {
    access_token: asString(r.body.access_token, 'access_token'),
    matrix_server_name: asString(r.body.matrix_server_name, 'matrix_server_name'),
  };
}

describe('provisioning: OpenID for users of the homeserver the bridge serves', function () {
  this.timeout(30_000);

  describe('provisioning.openid.overrides', () => {
    let lan: HomeserverEmulator;
    let bob: TestUser;
    const verifiers: OpenIdVerifier[] = [];
    before(async () => {
      lan = await HomeserverEmulator.start({ serverName: 'chat.example.lan' });
      bob = await lan.registerUser('bob');
    });
    after(async () => {
      await Promise.all(verifiers.map((v) => v.close()));
      await lan.stop();
    });

    it('is validated by the config schema, naming the key', () => {
      const base = { homeserver: { url: 'http://127.0.0.1:8008', domain: 'localhost' } };
      const ok = validateConfig({ ...base, provisioning: { openid: { overrides: { 'chat.example.lan': lan.url } } } });
      assert.deepEqual(ok.core.provisioning.openid.overrides, { 'chat.example.lan': lan.url });
      assert.deepEqual(validateConfig(base).core.provisioning.openid.overrides, {});
      assert.throws(
        () => validateConfig({ ...base, provisioning: { openid: { overrides: { 'chat.example.lan': 'ftp://x' } } } }),
        /provisioning\.openid\.overrides/,
      );
    });

    it('asks the configured URL for that server, and only for that server', async () => {
      const v = new OpenIdVerifier({ overrides: { 'chat.example.lan': lan.url }, timeoutMs: 2000, log: captureLogger() });
      verifiers.push(v);
      const { access_token } = await openIdToken(bob);
      assert.equal(await v.verify('chat.example.lan', access_token), bob.userId);
      // The same token offered as another server's: discovery and the guard, as before (no https on a .invalid name).
      await assert.rejects(
        v.verify('other.invalid', access_token),
        (e: unknown) => e instanceof OpenIdError && e.reason !== 'foreign_user',
      );
    });
  });
});
