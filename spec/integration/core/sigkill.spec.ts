import { strict as assert } from 'node:assert';
import http from 'node:http';
import path from 'node:path';
import { HomeserverEmulator, asObject, asString, parseJson, type TestUser } from '@causeway/testing';
import { BridgeProcess, MemoryConnector, eventually } from '@causeway/testing/bridge';

interface Arrival {
  eventId: string;
  body: string;
  redelivered: boolean;
}

/** What the child's connector posted to the sink, checked field by field. */
function arrival(json: unknown): Arrival {
  const a = asObject(json, 'arrival');
  assert.equal(typeof a.redelivered, 'boolean', 'arrival.redelivered');
  return { eventId: asString(a.eventId, 'arrival.eventId'), body: asString(a.body, 'arrival.body'), redelivered: a.redelivered === true };
}

describe('bridge-core: the whole bridge killed with SIGKILL mid-stream', function () {
  this.timeout(120_000);
  let hs: HomeserverEmulator;
  let sink: http.Server;
  let sinkUrl: string;
  const arrivals: Arrival[] = [];
  let bridge: BridgeProcess;

  before(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost', pushRetryBaseMs: 50, pushRetryMaxMs: 500 });
    sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        arrivals.push(arrival(parseJson(body)));
        res.end('{}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/deliver`;
    bridge = await BridgeProcess.create({
      entry: path.join(__dirname, 'fixtures/bridge-proc.ts'),
      hs,
      protocol: new MemoryConnector().protocol,
      name: 'causeway-kill-',
      env: { SINK_URL: sinkUrl },
      config: (site) => ({
        homeserver: { url: site.hsUrl, domain: 'localhost' },
        appservice: { port: site.port, bind_host: '127.0.0.1', registration: site.registration },
        database: { engine: 'nedb', nedb: { directory: path.join(site.dataDir, 'db') } },
        data_dir: site.dataDir,
        delivery: { fsync: 'never' },
        state_cache: { warm_on_start: false },
        mem: {},
      }),
    });
  });
  after(async function () {
    await bridge?.dispose({ failed: this.test?.parent?.tests.some((t) => t.state === 'failed') });
    await hs.stop();
    sink.close();
  });

  it('relays every acknowledged event exactly once per event ID, in room order, after a restart', async () => {
    await bridge.start();
    const alice: TestUser = await hs.registerUser('alice');
    const roomId = await alice.join('#_mem_mem_kill:localhost');
    const sent: string[] = [];
    const TOTAL = 300;
    // Alice keeps talking the whole time; the bridge dies under her and comes back.
    const sender = (async () => {
      for (let i = 0; i < TOTAL; i++) sent.push(await alice.sendMessage(roomId, `msg ${i}`));
    })();
    await eventually(() => arrivals.length >= 60, 'some deliveries', 30_000);
    const deliveredBeforeKill = arrivals.length;
    await bridge.kill();
    const killed = sent.length < TOTAL || hs.pusher.pending() > 0 || deliveredBeforeKill < TOTAL;
    await new Promise((r) => setTimeout(r, 300));
    await bridge.start();
    await sender;
    assert.ok(killed, 'the bridge was killed mid-stream');
    await eventually(() => new Set(arrivals.map((a) => a.eventId)).size === TOTAL, 'every event delivered', 60_000).catch(
      (err: unknown) => {
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}: ${new Set(arrivals.map((a) => a.eventId)).size}/${TOTAL}, pusher pending ${hs.pusher.pending()}`,
        );
      },
    );
    await hs.pusher.waitForIdle(30_000);

    const unique = new Set(arrivals.map((a) => a.eventId));
    assert.deepEqual([...unique].sort(), [...sent].sort(), 'nothing lost');
    // Order within the room: first arrivals follow the send order.
    const firstSeen: string[] = [];
    const seen = new Set<string>();
    for (const a of arrivals)
      if (!seen.has(a.eventId)) {
        seen.add(a.eventId);
        firstSeen.push(a.eventId);
      }
    assert.deepEqual(firstSeen, sent, 'room order kept across the crash');
    // A raw duplicate is possible only for an event that was in flight at the kill, and it says so.
    const counts = new Map<string, number>();
    for (const a of arrivals) counts.set(a.eventId, (counts.get(a.eventId) ?? 0) + 1);
    for (const a of arrivals) {
      if ((counts.get(a.eventId) ?? 0) > 1 && a !== arrivals.find((x) => x.eventId === a.eventId)) {
        assert.equal(a.redelivered, true, `duplicate of ${a.eventId} not flagged as redelivered`);
      }
    }
    const duplicates = arrivals.length - unique.size;
    assert.ok(duplicates <= 64, `at most one room batch redelivered, got ${duplicates}`);
  });
});
