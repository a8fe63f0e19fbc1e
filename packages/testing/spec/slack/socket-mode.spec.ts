import { strict as assert } from 'node:assert';
import type { App as BoltApp } from '@slack/bolt';
import { WebSocket } from 'ws';
import { asObject, at, parseJson } from '../../src/spec-json';
import { eventually, startSocketBolt, startWorkspace, webClient, type Workspace } from './helpers';

interface Seen {
  text?: string;
  ts: string;
  retryNum?: number;
  retryReason?: string;
}

describe('slack emulator: Socket Mode with Bolt', () => {
  let w: Workspace;
  let bolt: BoltApp | undefined;
  let seen: Seen[];

  async function startBolt(): Promise<void> {
    bolt = await startSocketBolt(w.slack, w.app, w.inst);
    bolt.message(async ({ message, context }) => {
      const m = message as { text?: string; ts: string };
      seen.push({ text: m.text, ts: m.ts, retryNum: context.retryNum, retryReason: context.retryReason });
    });
    await bolt.start();
  }

  beforeEach(async () => {
    w = await startWorkspace({ socketMode: { ackTimeoutMs: 300 } });
    seen = [];
  });
  afterEach(async () => {
    await bolt?.stop().catch(() => undefined);
    bolt = undefined;
    assert.deepEqual(w.slack.web.internalErrors, []);
    await w.slack.stop();
  });

  it('connects through apps.connections.open (after auth.test), gets hello, receives a message event and acks it', async () => {
    await startBolt();
    assert.equal(w.slack.calls('auth.test').length >= 1, true);
    assert.equal(w.slack.socketConnections(w.app), 1);
    const posted = w.alice.post(w.general, 'hello <@' + w.inst.botUserId + '>');
    await eventually(() => seen.length === 1, 'the message at Bolt');
    assert.equal(seen[0].ts, posted.ts);
    assert.equal(seen[0].text, `hello <@${w.inst.botUserId}>`);
    await w.slack.waitForDeliveries(w.app);
    const [delivery] = w.slack.deliveries(w.app);
    assert.equal(delivery.state, 'acked');
    assert.deepEqual(
      delivery.attempts.map((a) => [a.retry, a.outcome]),
      [[0, 'acked']],
    );
    assert.equal(delivery.payload.type, 'event_callback');
    assert.equal(delivery.payload.api_app_id, w.app.id);
    assert.deepEqual(delivery.payload.authorizations, [
      { enterprise_id: null, team_id: w.team.id, user_id: w.inst.botUserId, is_bot: true, is_enterprise_install: false },
    ]);
  });

  it('redelivers an envelope whose ack was lost, with retry_attempt + 1', async () => {
    await startBolt();
    w.slack.faults.dropAcks({ appId: w.app.id, times: 1 });
    const posted = w.alice.post(w.general, 'once more');
    await w.slack.waitForDeliveries(w.app);
    assert.deepEqual(
      seen.map((s) => [s.ts, s.retryNum, s.retryReason]),
      [
        [posted.ts, 0, ''],
        [posted.ts, 1, 'timeout'],
      ],
    );
    const [delivery] = w.slack.deliveries(w.app);
    assert.deepEqual(
      delivery.attempts.map((a) => [a.retry, a.outcome]),
      [
        [0, 'ack_dropped'],
        [1, 'acked'],
      ],
    );
  });

  it('on disconnect refresh_requested, Bolt reconnects through a fresh ticket and no event is lost', async () => {
    await startBolt();
    const before = w.slack.socketMode.stats(w.app.id);
    w.alice.post(w.general, 'before');
    await eventually(() => seen.length === 1, 'the first message');
    assert.equal(w.slack.disconnectSocket(w.app, 'refresh_requested'), 1);
    // Posted while the client is switching connections.
    for (const text of ['during-1', 'during-2', 'during-3']) w.bob.post(w.general, text);
    await eventually(() => w.slack.socketMode.stats(w.app.id).opened > before.opened, 'a new connection');
    w.alice.post(w.general, 'after');
    await w.slack.waitForDeliveries(w.app);
    const texts = new Set(seen.map((s) => s.text));
    assert.deepEqual([...texts].sort(), ['after', 'before', 'during-1', 'during-2', 'during-3']);
    const after = w.slack.socketMode.stats(w.app.id);
    assert.ok(after.ticketsIssued > before.ticketsIssued, 'a fresh apps.connections.open for the reconnect');
    assert.ok(w.slack.deliveries(w.app).every((d) => d.state === 'acked'));
  });

  it('after a dropped connection Bolt reconnects and unacked envelopes arrive', async () => {
    await startBolt();
    w.slack.dropSocket(w.app);
    w.alice.post(w.general, 'while down');
    await w.slack.waitForDeliveries(w.app);
    assert.deepEqual(
      seen.map((s) => s.text),
      ['while down'],
    );
    assert.equal(w.slack.socketConnections(w.app), 1);
  });

  it('a ticket opens one connection only', async () => {
    const { url } = await webClient(w.slack, w.app.appToken).apps.connections.open({});
    const first = new WebSocket(url!);
    const hello = await new Promise<unknown>((resolve, reject) => {
      first.once('message', (d: Buffer) => resolve(parseJson(d)));
      first.once('error', reject);
    });
    assert.equal(at(hello, 'type'), 'hello');
    assert.equal(at(hello, 'num_connections'), 1);
    assert.equal(at(hello, 'connection_info', 'app_id'), w.app.id);
    const second = new WebSocket(url!);
    const status = await new Promise<number>((resolve) => second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 401);
    first.close();
  });

  async function rawConnection(): Promise<{ ws: WebSocket; messages: Record<string, unknown>[]; closed: Promise<number> }> {
    const { url } = await webClient(w.slack, w.app.appToken).apps.connections.open({});
    const ws = new WebSocket(url!);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => messages.push(asObject(parseJson(d), 'socket message')));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { ws, messages, closed };
  }

  it('answers WebSocket pings', async () => {
    const { ws } = await rawConnection();
    const pong = new Promise<string>((resolve) => ws.once('pong', (d) => resolve(d.toString())));
    ws.ping('are you there');
    assert.equal(await pong, 'are you there');
    ws.close();
  });

  it('sends each disconnect kind; for all but warning it closes the socket if the client does not', async () => {
    for (const reason of ['warning', 'link_disabled'] as const) {
      const conn = await rawConnection();
      w.slack.disconnectSocket(w.app, reason);
      await eventually(() => conn.messages.some((m) => m.type === 'disconnect'), 'the disconnect message');
      assert.deepEqual(
        conn.messages.filter((m) => m.type === 'disconnect').map((m) => m.reason),
        [reason],
      );
      if (reason === 'link_disabled') assert.equal(await conn.closed, 1000);
      else conn.ws.close();
    }
  });

  it('refuses connections beyond the limit with too_many_websockets', async () => {
    await w.slack.stop();
    w = await startWorkspace({ socketMode: { maxConnections: 2 } });
    const [a, b, c] = [await rawConnection(), await rawConnection(), await rawConnection()];
    await eventually(() => c.messages.length > 0, 'an answer on the third connection');
    assert.deepEqual(
      c.messages.map((m) => [m.type, m.reason]),
      [['disconnect', 'too_many_websockets']],
    );
    assert.deepEqual([a.messages[0].type, b.messages[0].type], ['hello', 'hello']);
    assert.equal(w.slack.socketConnections(w.app), 2);
    w.alice.post(w.general, 'to one of two');
    await eventually(() => a.messages.length + b.messages.length === 3, 'one envelope on one connection');
    const envelope = [...a.messages, ...b.messages].find((m) => m.type === 'events_api')!;
    assert.equal(envelope.retry_attempt, 0);
    assert.equal((envelope.payload as { event: { text: string } }).event.text, 'to one of two');
    for (const x of [a, b, c]) x.ws.close();
  });

  it('holds events while no connection is open and delivers them to the next one', async () => {
    w.alice.post(w.general, 'early');
    assert.equal(w.slack.deliveries(w.app)[0].state, 'pending');
    await startBolt();
    await w.slack.waitForDeliveries(w.app);
    assert.deepEqual(
      seen.map((s) => s.text),
      ['early'],
    );
  });
});
