import { strict as assert } from 'node:assert';
import { HomeserverEmulator } from '@causeway/testing';
import { HomeserverCheck } from '../../src/runtime/homeserver-check';
import { MatrixHttpClient } from '../../src/matrix/http-client';
import { IntentFactory } from '../../src/matrix/intent-factory';
import { generateRegistration } from '../../src/appservice/registration';
import type { Logger } from '../../src/logging/logger';
import { MemoryConnector } from '@causeway/testing/bridge';
import { freePort } from '@causeway/testing/bridge';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string) => {
    lines.push(`${level} ${msg}`);
  };
  const l: Logger = {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: () => {},
    trace: () => {},
    child: () => l,
    isLevelEnabled: () => true,
  };
  return l;
}

describe('bridge-core: start-up homeserver check', function () {
  this.timeout(20_000);
  let hs: HomeserverEmulator;
  const clients: MatrixHttpClient[] = [];
  before(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost' });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await hs.stop();
  });

  async function check(opts: { asToken?: string; registeredUrl: string }, on: HomeserverEmulator = hs) {
    const hs = on;
    const reg = generateRegistration({
      url: opts.registeredUrl,
      protocol: new MemoryConnector().protocol,
      domain: 'localhost',
      id: `t${Math.random().toString(36).slice(2)}`,
    });
    reg.sender_localpart = `_mem_bot_${reg.id}`;
    hs.addRegistration(reg);
    const client = new MatrixHttpClient({
      baseUrl: hs.url,
      asToken: opts.asToken ?? reg.as_token,
      backoff: { baseMs: 5, maxMs: 10, maxRetries: 0 },
    });
    clients.push(client);
    const store = new Map<string, unknown>();
    const repo = {
      get: async (u: string) => store.get(u),
      put: async (r: { userId: string }) => {
        store.set(r.userId, r);
      },
      getMembership: async () => undefined,
      setMembership: async () => {},
      joinedRooms: async () => [],
      forgetRoom: async () => {},
    };
    const intents = new IntentFactory({ client, botUserId: `@${reg.sender_localpart}:localhost`, store: repo as never });
    const lines: string[] = [];
    let fatal: Error | undefined;
    const c = new HomeserverCheck({
      bot: intents.bot,
      appserviceId: reg.id,
      homeserverUrl: hs.url,
      log: recordingLogger(lines),
      onFatal: (err) => {
        fatal = err;
      },
      backoff: { baseMs: 20, maxMs: 40, maxRetries: Infinity },
    });
    c.start();
    return { c, lines, fatal: () => fatal };
  }

  it('reports a rejected as_token as fatal, once', async () => {
    const { c, fatal } = await check({ asToken: 'not-the-token-0123456789abcdef0123', registeredUrl: 'http://127.0.0.1:1' });
    assert.equal(await c.settled, 'fatal');
    assert.match(String(fatal()?.message), /as_token/);
  });

  it('says the homeserver cannot reach the bridge when the registration URL is wrong, and keeps trying', async () => {
    const port = await freePort();
    const { c, lines } = await check({ registeredUrl: `http://127.0.0.1:${port}` });
    const deadline = Date.now() + 8000;
    while (!lines.some((l) => /cannot connect to the bridge/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    c.stop();
    assert.ok(
      lines.some((l) => /^warn homeserver check failed: the homeserver cannot connect to the bridge/.test(l)),
      lines.join('\n'),
    );
  });

  describe('a homeserver without the appservice ping (Synapse 1.67)', () => {
    let old: HomeserverEmulator;
    before(async () => {
      old = await HomeserverEmulator.start({ serverName: 'localhost', profile: 'synapse-1.67' });
    });
    after(async () => {
      await old.stop();
    });

    it('takes its 400 M_UNRECOGNIZED as "not supported" and checks the as_token with whoami, once, without a warning', async () => {
      const { c, lines } = await check({ registeredUrl: 'http://127.0.0.1:1' }, old);
      const outcome = await Promise.race([c.settled, new Promise((r) => setTimeout(() => r('still retrying'), 3000))]);
      c.stop();
      assert.equal(outcome, 'unsupported', lines.join('\n'));
      assert.equal(old.requestCount('POST /appservice/{appserviceId}/ping'), 0, 'not a route of that release');
      assert.equal(old.requestCount('POST <unrecognized>'), 1);
      assert.equal(old.requestCount('GET /account/whoami'), 1);
      assert.deepEqual(
        lines.filter((l) => l.startsWith('warn')),
        [],
      );
      assert.ok(
        lines.some((l) => /^info the homeserver does not support the appservice ping .* checked with whoami/.test(l)),
        lines.join('\n'),
      );
    });

    it('still reports a rejected as_token as fatal', async () => {
      const { c, fatal } = await check({ asToken: 'not-the-token-0123456789abcdef0123', registeredUrl: 'http://127.0.0.1:1' }, old);
      assert.equal(await c.settled, 'fatal');
      assert.match(String(fatal()?.message), /as_token/);
    });
  });
});
