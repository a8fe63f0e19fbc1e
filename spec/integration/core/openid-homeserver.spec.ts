/**
 * OpenID provisioning sessions for users of the bridge's own homeserver, which often does not
 * federate: the token is looked up at `homeserver.url` (Synapse serves the userinfo endpoint on
 * its client listener), and homeservers on the LAN at the URL `provisioning.openid.overrides`
 * gives. Everything else keeps server discovery and the address guard.
 */
import { strict as assert } from 'node:assert';
import { asString, at, httpCall, type HttpReply, type TestUser } from '@causeway/testing';
import { MemoryConnector, startBridgeFixture, type BridgeFixture } from '@causeway/testing/bridge';

const USERINFO = 'GET /_matrix/federation/v1/openid/userinfo';

async function openIdToken(user: TestUser): Promise<{ access_token: string; matrix_server_name: string }> {
  const r = await user.request('POST', `/user/${encodeURIComponent(user.userId)}/openid/request_token`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return {
    access_token: asString(r.body.access_token, 'access_token'),
    matrix_server_name: asString(r.body.matrix_server_name, 'matrix_server_name'),
  };
}

function post(url: string, body: unknown, token?: string): Promise<HttpReply> {
  return httpCall(url, 'POST', '', { body, token });
}

describe('provisioning: OpenID for users of the homeserver the bridge serves', function () {
  this.timeout(30_000);

  describe('through a bridge whose homeserver is on http://127.0.0.1 (server_name localhost)', () => {
    let fx: BridgeFixture<{ network: string }>;
    let alice: TestUser;
    before(async () => {
      fx = await startBridgeFixture({
        connector: () => new MemoryConnector(),
        configKey: 'mem',
        core: { provisioning: { enabled: true } },
      });
      alice = await fx.hs.registerUser('alice');
    });
    after(async () => {
      await fx.stop();
    });

    it('exchanges an OpenID token the homeserver issued for a session, asking homeserver.url', async () => {
      const { access_token, matrix_server_name } = await openIdToken(alice);
      assert.equal(matrix_server_name, 'localhost');
      const r = await post(`${fx.asUrl}/_matrix/provision/v1/exchange_openid`, {
        matrixServer: matrix_server_name,
        openIdToken: access_token,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.user_id, alice.userId);
      assert.equal(fx.hs.requestCount(USERINFO), 1);
      const who = await fetch(`${fx.asUrl}/_matrix/provision/v1/whoami`, {
        headers: { authorization: `Bearer ${asString(r.body.token, 'token')}` },
      });
      assert.equal(who.status, 200);
      assert.equal(at(await who.json(), 'user_id'), alice.userId);
    });

    it('still refuses a token the homeserver does not know, and a server name in another case is the same server', async () => {
      let r = await post(`${fx.asUrl}/_matrix/provision/v1/exchange_openid`, {
        matrixServer: 'localhost',
        openIdToken: 'not-a-token-of-the-homeserver',
      });
      assert.deepEqual([r.status, r.body.errcode], [403, 'M_UNKNOWN_TOKEN']);
      const { access_token } = await openIdToken(alice);
      r = await post(`${fx.asUrl}/_matrix/provision/v1/exchange_openid`, { matrixServer: 'LocalHost', openIdToken: access_token });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });

    it('another server name on the same loopback address is still refused by the address guard', async () => {
      const port = new URL(fx.hs.url).port;
      const { access_token } = await openIdToken(alice);
      const r = await post(`${fx.asUrl}/_matrix/provision/v1/exchange_openid`, {
        matrixServer: `127.0.0.1:${port}`,
        openIdToken: access_token,
      });
      assert.deepEqual([r.status, r.body.errcode], [403, 'M_FORBIDDEN']);
      assert.match(asString(r.body.error, 'error'), /address is not allowed/);
    });
  });
});
