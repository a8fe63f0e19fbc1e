/**
 * The IRC bridge killed with SIGKILL (issue 13, points 2 and 3), as a separate process started from
 * config/irc.sample.yaml with its defaults — one line per second per IRC connection included:
 * - Matrix → IRC: messages the homeserver handed over (acknowledged) but still waiting in a
 *   flood queue, or in the outbox of a user whose connection is down, all reach IRC after the
 *   restart, in order.
 * - IRC → Matrix: lines waiting for a homeserver that is down reach the room once, in order,
 *   after the restart and the homeserver's return.
 * What the bridge has stored when it dies is read from its data directory (the embedded store's
 * queue log), to show each case really had lines waiting there.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { generateRegistration } from '@causeway/bridge-core/tools';
import {
  HomeserverEmulator,
  asArray,
  asNumber,
  asObject,
  at,
  parseJson,
  startInspircd,
  connectObserver,
  eventually,
  freePort,
  type InspircdHandle,
  type Observer,
} from '@causeway/testing';
import { IrcConnector } from '@causeway/irc-bridge';
import { alias, ghostId, messages } from './support';

/** Values of a durable queue as the bridge's queue log (queues.db) holds them now. */
function stored(dataDir: string, queue: string): unknown[] {
  const file = path.join(dataDir, 'db', 'queues.db');
  if (!existsSync(file)) return [];
  const live = new Map<number, unknown>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let parsed: unknown;
    try {
      parsed = parseJson(line);
    } catch {
      continue;
    } // empty, or a line being written
    // An append {a: queue, s: first seq, v: values} or a removal {r: queue, s: seqs}.
    const op = asObject(parsed, 'queue log line');
    if (op.a === queue) asArray(op.v, 'appended values').forEach((v, i) => live.set(asNumber(op.s, 'first seq') + i, v));
    if (op.r === queue) for (const seq of asArray(op.s, 'removed seqs')) live.delete(asNumber(seq, 'removed seq'));
  }
  return [...live.values()];
}

describe('irc-bridge: the bridge killed with SIGKILL', function () {
  this.timeout(150_000);
  let ircd: InspircdHandle;
  let hs: HomeserverEmulator;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let child: ChildProcess | undefined;
  const observers: Observer[] = [];

  before(async () => {
    ircd = await startInspircd();
    const sample: unknown = parse(readFileSync(path.join(__dirname, '../../../config/irc.sample.yaml'), 'utf8'));
    assert.equal(
      at(sample, 'irc', 'servers', 'libera', 'clients', 'flood_lines_per_second'),
      1,
      "the sample's flood rate is the default these specs run at",
    );
  });
  after(async () => {
    await ircd?.dispose();
  });

  beforeEach(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost', pushRetryBaseMs: 50, pushRetryMaxMs: 500 });
    dataDir = mkdtempSync(path.join(tmpdir(), 'causeway-irc-kill-'));
    const port = await freePort();
    const reg = generateRegistration({ url: `http://127.0.0.1:${port}`, protocol: new IrcConnector().protocol, domain: 'localhost' });
    const regPath = path.join(dataDir, 'registration.yaml');
    writeFileSync(regPath, stringify(reg));
    hs.addRegistration(reg);
    env = {
      ...process.env,
      HS_URL: hs.url,
      PORT: String(port),
      DATA_DIR: dataDir,
      REG_PATH: regPath,
      IRC_HOST: ircd.host,
      IRC_PORT: String(ircd.port),
      CAUSEWAY_LOG_LEVEL: process.env.KILL_LOG ?? 'error',
    };
  });
  afterEach(async () => {
    await kill();
    await Promise.all(observers.splice(0).map((o) => o.close().catch(() => undefined)));
    await hs.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function startChild(): Promise<void> {
    const proc = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'fixtures/irc-bridge-proc.ts')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = proc;
    return new Promise((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        if (process.env.KILL_LOG) process.stdout.write(`[child] ${d.toString()}`);
        if (d.toString().includes('READY')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`bridge exited early (${code})`)));
    });
  }

  async function kill(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async function witness(channel: string, nick = 'witness'): Promise<Observer> {
    const o = await connectObserver(ircd, nick);
    observers.push(o);
    await o.join(channel);
    return o;
  }

  /** The numbers of the test's lines a witness saw in `channel`, in arrival order (duplicates kept). */
  const seen = (o: Observer, channel: string, prefix: string) =>
    o.lines
      .map((l) => new RegExp(`PRIVMSG ${channel} :${prefix}(\\d+)$`).exec(l.replace(/^@\S+ /, '')))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));

  const inOrderOnce = (arrivals: number[], n: number, maxDuplicates: number) => {
    const first: number[] = [];
    for (const x of arrivals) if (!first.includes(x)) first.push(x);
    assert.deepEqual(
      first,
      Array.from({ length: n }, (_, i) => i),
      `every line, in order (arrivals: ${arrivals.join(' ')})`,
    );
    assert.ok(arrivals.length - n <= maxDuplicates, `at most ${maxDuplicates} line(s) twice, got ${arrivals.join(' ')}`);
  };

  it('Matrix → IRC: acknowledged messages waiting in the flood queue at the default rate reach IRC after the restart, every one, in order', async () => {
    await startChild();
    const alice = await hs.registerUser('alice', { displayname: 'Alice' });
    const w = await witness('#flood');
    const roomId = await alice.join(alias('#flood'));
    await w.waitFor((l) => /:Alice\[m\]!\S+ JOIN :?#flood/i.test(l), 30_000);
    const N = 20;
    for (let i = 0; i < N; i++) await alice.sendMessage(roomId, `m${i}`);
    // Every event acknowledged by the bridge; a few lines out, the others waiting for the flood queue.
    await eventually(() => hs.pusher.pending() === 0, 'every event acknowledged', 20_000);
    await eventually(
      () => seen(w, '#flood', 'm').length >= 3 && stored(dataDir, 'connector.irc.lines').length > 0,
      'lines queued behind the flood limit',
      20_000,
    );
    const before = seen(w, '#flood', 'm').length;
    const waiting = stored(dataDir, 'connector.irc.lines').length;
    await kill();
    assert.ok(before < N && waiting >= N - before - 1, `killed with ${before} lines out and ${waiting} stored`);

    await startChild();
    await eventually(() => new Set(seen(w, '#flood', 'm')).size === N, 'every line on IRC', 60_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: saw ${seen(w, '#flood', 'm').join(' ')}`);
    });
    // One line may have been being written when the bridge died: it is sent again, like a redelivered event.
    inOrderOnce(seen(w, '#flood', 'm'), N, 1);
    await eventually(() => stored(dataDir, 'connector.irc.lines').length === 0, 'nothing left stored');
  });

  it('Matrix → IRC: messages waiting in the outbox of a user whose connection is down reach IRC after the restart, once, in order', async () => {
    await startChild();
    const alice = await hs.registerUser('alice', { displayname: 'Alice' });
    const w = await witness('#outbox');
    const roomId = await alice.join(alias('#outbox'));
    await w.waitFor((l) => /:Alice\[m\]!\S+ JOIN :?#outbox/i.test(l), 30_000);
    await ircd.stop(); // every connection drops: Alice's messages wait in her outbox
    const N = 8;
    for (let i = 0; i < N; i++) await alice.sendMessage(roomId, `o${i}`);
    await eventually(
      () => hs.pusher.pending() === 0 && stored(dataDir, 'connector.irc.lines').length === N,
      'every message acknowledged and stored',
      20_000,
    );
    await kill();

    await ircd.start();
    const w2 = await witness('#outbox', 'witness2');
    await startChild();
    await eventually(() => new Set(seen(w2, '#outbox', 'o')).size === N, 'every message on IRC', 60_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: saw ${seen(w2, '#outbox', 'o').join(' ')}`);
    });
    inOrderOnce(seen(w2, '#outbox', 'o'), N, 0);
  });

  it('IRC → Matrix: lines waiting for a homeserver that is down reach the room once, in order, after the bridge restarts', async () => {
    await startChild();
    const alice = await hs.registerUser('alice', { displayname: 'Alice' });
    const roomId = await alice.join(alias('#wait'));
    const dave = await witness('#wait', 'dave');
    dave.raw('PRIVMSG #wait :warm-up');
    await eventually(() => messages(hs, roomId, ghostId('dave')).length === 1, 'the warm-up line in the room', 30_000);
    await hs.goDown();
    const N = 10;
    for (let i = 0; i < N; i++) dave.raw(`PRIVMSG #wait :w${i}`);
    await eventually(() => stored(dataDir, 'core.remote-events').length === N, 'every line stored while it waits', 20_000);
    await kill();

    await startChild(); // the homeserver still down
    await hs.comeBack();
    const bodies = () => messages(hs, roomId, ghostId('dave')).map((e) => String(e.content.body));
    await eventually(() => bodies().length >= N + 1, 'every line in the room', 60_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: ${bodies().join(' ')}`);
    });
    assert.deepEqual(bodies(), ['warm-up', ...Array.from({ length: N }, (_, i) => `w${i}`)]);
    await eventually(() => stored(dataDir, 'core.remote-events').length === 0, 'nothing left stored');
  });
});
