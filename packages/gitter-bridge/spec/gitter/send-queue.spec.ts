import { strict as assert } from 'node:assert';
import { GitterEmulator, type GitterTestUser } from '@causeway/testing';
import { GitterEditWindowError, GitterHttpError, GitterNetworkError } from '../../src/gitter/errors';
import { RateLimitTracker } from '../../src/gitter/rate-limit';
import { GitterRestClient } from '../../src/gitter/rest-client';
import { GitterSendQueue, type SendOutcome } from '../../src/gitter/send-queue';
import { MemorySendQueueStore, type QueuedOp } from '../../src/gitter/send-queue-store';
import type { SendMessageBody } from '../../src/gitter/types';
import { REST_RETRY, retryDelay } from '../../src/retry-delay';
import { gitterHttp } from '../../src/http';

class Clock {
  ms = Date.UTC(2024, 0, 15, 12);
  readonly now = () => this.ms;
  readonly sleep = async (ms: number) => {
    this.ms += ms;
  };
}

/** A client whose POST answers get lost (after the server acted, or before it saw the request). */
class LossyClient extends GitterRestClient {
  loseAnswers = 0;
  loseRequests = 0;
  override async sendMessage(roomId: string, body: SendMessageBody, signal?: AbortSignal) {
    if (this.loseRequests > 0) {
      this.loseRequests--;
      throw new GitterNetworkError('POST', `/rooms/${roomId}/chatMessages`, false);
    }
    const msg = await super.sendMessage(roomId, body, signal);
    if (this.loseAnswers > 0) {
      this.loseAnswers--;
      throw new GitterNetworkError('POST', `/rooms/${roomId}/chatMessages`, true);
    }
    return msg;
  }
}

describe('gitter-bridge: per-room send queue against the Gitter emulator', () => {
  let clock: Clock;
  let emu: GitterEmulator;
  let bot: GitterTestUser;
  let alice: GitterTestUser;
  let roomId: string;
  let queue: GitterSendQueue | undefined;

  const makeClient = (token = bot.token) =>
    new LossyClient({
      baseUrl: emu.restBaseUrl,
      http: gitterHttp,
      token,
      rateLimit: new RateLimitTracker({ now: clock.now, sleep: clock.sleep }),
      retryDelay: retryDelay(REST_RETRY),
      sleep: clock.sleep,
    });
  const makeQueue = (client: GitterRestClient, extra: Partial<ConstructorParameters<typeof GitterSendQueue>[0]> = {}) =>
    (queue = new GitterSendQueue({ client, now: clock.now, retryDelay: retryDelay({ baseMs: 2, maxMs: 10 }), ...extra }));
  const texts = () => emu.messagesBy(roomId, bot.id).map((m) => m.text);

  beforeEach(async () => {
    clock = new Clock();
    emu = await GitterEmulator.start({ now: clock.now, features: { deletes: true } });
    bot = emu.createUser('causeway-bot');
    alice = emu.createUser('alice');
    roomId = emu.createRoom({ uri: 'acme/chat', admins: [alice.id], members: [bot.id] }).id;
  });
  afterEach(async () => {
    await queue?.stop();
    queue = undefined;
    await emu.stop();
  });

  it('delivers sends, edits and deletes in queue order through rate-limit waits; edits may name a send not yet delivered', async () => {
    emu.setRateLimit({ limit: 3, windowMs: 60_000 });
    const q = makeQueue(makeClient());
    const outcomes = await Promise.all([
      q.enqueue({ kind: 'send', roomId, body: { text: 'one' }, ref: '$e1' }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'two' }, ref: '$e2' }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'three' }, ref: '$e3' }),
      q.enqueue({ kind: 'edit', roomId, target: { sendRef: '$e2' }, text: 'two (edited)' }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'four', status: true } }),
      q.enqueue({ kind: 'delete', roomId, target: { sendRef: '$e3' } }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'five' } }),
    ]);
    assert.ok(
      outcomes.every((o) => o.ok),
      JSON.stringify(outcomes.filter((o) => !o.ok)),
    );
    assert.deepEqual(texts(), ['one', 'two (edited)', 'four', 'five']);
    assert.equal(emu.messagesBy(roomId, bot.id)[2].status, true);
    assert.ok(clock.ms - Date.UTC(2024, 0, 15, 12) >= 120_000, 'it waited for the rate limit rather than failing');
    assert.equal(await q.pending(), 0);
  });

  it('settles what Gitter refuses as failed with the error, and carries on with the next operation', async () => {
    const other = emu.createRoom({ uri: 'acme/closed', admins: [alice.id] }).id;
    const q = makeQueue(makeClient());
    const sent = await q.enqueue({ kind: 'send', roomId, body: { text: 'old' } });
    assert.ok(sent.ok);
    clock.ms += 600_001;
    const [refused, late, after] = await Promise.all([
      q.enqueue({ kind: 'send', roomId: other, body: { text: 'not a member' } }),
      q.enqueue({ kind: 'edit', roomId, target: { messageId: sent.message!.id }, text: 'too late' }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'next' } }),
    ]);
    assert.ok(!refused.ok && refused.error instanceof GitterHttpError && refused.error.kind === 'forbidden');
    assert.ok(!late.ok && late.error instanceof GitterEditWindowError, 'the connector falls back to a new message');
    assert.ok(after.ok);
    assert.deepEqual(texts(), ['old', 'next']);
    const unknown = await q.enqueue({ kind: 'edit', roomId, target: { sendRef: '$never' }, text: 'x' });
    assert.ok(!unknown.ok && /never sent/.test(unknown.error.message));
  });

  it('a post whose answer was lost is found in history, not posted again (identical texts included)', async () => {
    const client = makeClient();
    client.loseAnswers = 2;
    const q = makeQueue(client);
    const [a, b, c] = await Promise.all([
      q.enqueue({ kind: 'send', roomId, body: { text: 'same' }, ref: '$a' }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'same' }, ref: '$b' }),
      q.enqueue({ kind: 'send', roomId, body: { text: 'same' } }),
    ]);
    assert.deepEqual(texts(), ['same', 'same', 'same']);
    const ids = emu.messagesBy(roomId, bot.id).map((m) => m.id);
    assert.ok(a.ok && a.recovered && a.message!.id === ids[0]);
    assert.ok(b.ok && b.recovered && b.message!.id === ids[1]);
    assert.ok(c.ok && !c.recovered && c.message!.id === ids[2]);
    // The recovered id serves later edits.
    assert.ok((await q.enqueue({ kind: 'edit', roomId, target: { sendRef: '$b' }, text: 'second' })).ok);
    assert.deepEqual(texts(), ['same', 'second', 'same']);
  });

  it('a post that never reached Gitter is sent once the network is back', async () => {
    const client = makeClient();
    client.loseRequests = 3;
    const retries: string[] = [];
    const q = makeQueue(client, { onRetry: (_e, err) => retries.push(err.constructor.name) });
    const out = await q.enqueue({ kind: 'send', roomId, body: { text: 'eventually' } });
    assert.ok(out.ok && !out.recovered);
    assert.deepEqual(texts(), ['eventually']);
    assert.deepEqual(retries, ['GitterNetworkError', 'GitterNetworkError', 'GitterNetworkError']);
  });

  it('after a restart, resumes the stored queue: an attempted post already on Gitter is not duplicated', async () => {
    const store = new MemorySendQueueStore();
    // The previous process queued two posts, started the first, and died before the answer.
    const first = await store.append({ kind: 'send', roomId, body: { text: 'before the crash' }, ref: '$1' }, clock.ms);
    await store.append({ kind: 'send', roomId, body: { text: 'never started' } }, clock.ms);
    await store.recordAttempt(roomId, first.seq);
    await bot.post(roomId, 'before the crash');
    const settled: [QueuedOp, SendOutcome][] = [];
    const q = makeQueue(makeClient(), { store, onSettled: (e, o) => settled.push([e, o]) });
    await q.resume();
    await q.idle();
    assert.deepEqual(texts(), ['before the crash', 'never started']);
    assert.deepEqual(
      settled.map(([e, o]) => [e.seq, o.ok && !!o.recovered]),
      [
        [first.seq, true],
        [first.seq + 1, false],
      ],
    );
    assert.equal(await store.sentId(roomId, '$1'), emu.messagesBy(roomId, bot.id)[0].id);
  });

  it('an attempted post that never arrived is sent after a restart', async () => {
    const store = new MemorySendQueueStore();
    const op = await store.append({ kind: 'send', roomId, body: { text: 'lost in flight' } }, clock.ms);
    await store.recordAttempt(roomId, op.seq);
    const q = makeQueue(makeClient(), { store });
    await q.resume();
    await q.idle();
    assert.deepEqual(texts(), ['lost in flight']);
  });

  it('a revoked token holds the queue (nothing dropped) until it works again', async () => {
    const token = emu.issueToken(bot.id);
    const errors: string[] = [];
    const q = makeQueue(makeClient(token), { ownUserId: bot.id, onRetry: (_e, err) => errors.push((err as GitterHttpError).kind) });
    emu.revokeToken(token);
    const pending = q.enqueue({ kind: 'send', roomId, body: { text: 'held' } });
    await eventually(() => errors.length >= 2);
    assert.deepEqual([...new Set(errors)], ['unauthorized']);
    assert.equal(await q.pending(roomId), 1);
    assert.deepEqual(texts(), []);
    emu.tokens.add(bot.id, token);
    const out = await pending;
    assert.ok(out.ok);
    assert.deepEqual(texts(), ['held']);
  });

  it('a failing store (e.g. its database down) delays delivery but loses nothing', async () => {
    const store = new MemorySendQueueStore();
    let failHeads = 2;
    const realHead = store.head.bind(store);
    store.head = async (room: string) => {
      if (failHeads-- > 0) throw new Error('database unavailable');
      return realHead(room);
    };
    const storeErrors: string[] = [];
    const q = makeQueue(makeClient(), { store, onStoreError: (_room, err) => storeErrors.push(err.message) });
    const out = await q.enqueue({ kind: 'send', roomId, body: { text: 'survives' } });
    assert.ok(out.ok);
    assert.deepEqual(storeErrors, ['database unavailable', 'database unavailable']);
    assert.deepEqual(texts(), ['survives']);
  });

  it('stop keeps what is queued for the next start; enqueue after stop is refused', async () => {
    const store = new MemorySendQueueStore();
    const token = emu.issueToken(bot.id);
    emu.revokeToken(token);
    const q = makeQueue(makeClient(token), { store, ownUserId: bot.id });
    void q.enqueue({ kind: 'send', roomId, body: { text: 'kept' } });
    await eventually(async () => ((await store.head(roomId))?.attempts ?? 0) >= 1);
    await q.stop();
    assert.equal(await store.size(), 1);
    const late = await q.enqueue({ kind: 'send', roomId, body: { text: 'x' } });
    assert.ok(!late.ok);
    const q2 = makeQueue(makeClient(), { store });
    await q2.resume();
    await q2.idle();
    assert.deepEqual(texts(), ['kept']);
  });
});

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
