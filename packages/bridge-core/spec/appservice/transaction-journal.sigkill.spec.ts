import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ev, HS_TOKEN } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'appservice-proc.ts');
const ROOT = path.resolve(__dirname, '../../../..');

interface Child {
  proc: ChildProcess;
  base: string;
}

function startChild(dataDir: string, sinkFile: string): Promise<Child> {
  const proc = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE, dataDir, sinkFile, HS_TOKEN], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CAUSEWAY_LOG_LEVEL: 'error' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr.on('data', (c) => {
      err += c;
    });
    proc.stdout.on('data', (c) => {
      out += c;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ proc, base: `http://127.0.0.1:${m[1]}` });
    });
    proc.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
}

function kill9(child: Child): Promise<void> {
  return new Promise((resolve) => {
    child.proc.once('exit', () => resolve());
    child.proc.kill('SIGKILL');
  });
}

describe('appservice exactly-once across SIGKILL', function () {
  this.timeout(90_000);
  const children: Child[] = [];
  after(() => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  });

  it('delivers every acknowledged event, duplicates only when flagged redelivered', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-kill-'));
    const dataDir = path.join(dir, 'data');
    const sinkFile = path.join(dir, 'sink.log');
    const ROOMS = 12;
    const TXNS = 150;
    const PER_TXN = 20;
    const killAfter = new Set([25, 70, 71, 120]);
    // Kill while this transaction's request is on the wire (the 200 may or may not get out).
    const killDuring = new Set([40, 95, 140]);

    // The homeserver's queue: transactions in stream order, each resent
    // (same txnId, same body) until it gets a 200.
    const txns = Array.from({ length: TXNS }, (_, t) => ({
      id: `k${t}`,
      body: JSON.stringify({ events: Array.from({ length: PER_TXN }, (_, i) => ev(`!room${(t * 7 + i) % ROOMS}:hs`, `$t${t}e${i}`)) }),
    }));
    let child = await startChild(dataDir, sinkFile);
    children.push(child);
    let kills = 0;
    let resends = 0;
    for (let t = 0; t < TXNS; t++) {
      if (killDuring.has(t)) {
        const inFlight = fetch(`${child.base}/_matrix/app/v1/transactions/${txns[t].id}`, {
          method: 'PUT',
          body: txns[t].body,
          headers: { Authorization: `Bearer ${HS_TOKEN}`, 'Content-Type': 'application/json' },
        }).then(
          (r) => r.status,
          () => 0,
        );
        await new Promise((r) => setTimeout(r, t % 3));
        await kill9(child);
        kills++;
        const status = await inFlight;
        child = await startChild(dataDir, sinkFile);
        children.push(child);
        if (status === 200) continue; // acknowledged before the kill
        resends++;
      }
      for (;;) {
        try {
          const res = await fetch(`${child.base}/_matrix/app/v1/transactions/${txns[t].id}`, {
            method: 'PUT',
            body: txns[t].body,
            headers: { Authorization: `Bearer ${HS_TOKEN}`, 'Content-Type': 'application/json' },
          });
          await res.arrayBuffer();
          if (res.status === 200) break;
          throw new Error(`status ${res.status}`);
        } catch {
          resends++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      if (killAfter.has(t)) {
        // Kill right after an acknowledgement, with handlers mid-flight, and
        // sometimes while the next transaction is already on the wire.
        if (t % 2 === 0) {
          void fetch(`${child.base}/_matrix/app/v1/transactions/${txns[t + 1].id}`, {
            method: 'PUT',
            body: txns[t + 1].body,
            headers: { Authorization: `Bearer ${HS_TOKEN}`, 'Content-Type': 'application/json' },
          }).catch(() => undefined);
          await new Promise((r) => setImmediate(r));
        }
        await kill9(child);
        kills++;
        child = await startChild(dataDir, sinkFile);
        children.push(child);
      }
    }
    assert.equal(kills, 7);

    const expected = new Map<string, string>(); // event ID -> room
    const roomOrder = new Map<string, string[]>();
    for (const t of txns) {
      for (const e of (JSON.parse(t.body) as { events: Array<{ event_id: string; room_id: string }> }).events) {
        expected.set(e.event_id, e.room_id);
        roomOrder.set(e.room_id, [...(roomOrder.get(e.room_id) ?? []), e.event_id]);
      }
    }
    const readSink = () =>
      fs
        .readFileSync(sinkFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '));
    const deadline = Date.now() + 30_000;
    while (new Set(readSink().map((l) => l[1])).size < expected.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    const lines = readSink();

    // An idempotent remote keyed by event ID sees each event exactly once.
    const firstSeen = new Map<string, number>();
    let rawDuplicates = 0;
    let flaggedDeliveries = 0;
    lines.forEach(([room, id, flag], i) => {
      assert.equal(expected.get(id), room, `unexpected event ${id}`);
      if (flag === '1') flaggedDeliveries++;
      if (firstSeen.has(id)) {
        rawDuplicates++;
        assert.equal(flag, '1', `duplicate delivery of ${id} not flagged redelivered`);
      } else firstSeen.set(id, i);
    });
    assert.equal(firstSeen.size, expected.size, 'every acknowledged event delivered');
    // Per-room order (first deliveries) is the homeserver's order.
    for (const [room, ids] of roomOrder) {
      const delivered = lines
        .filter(([r, id]) => r === room && firstSeen.get(id) !== undefined)
        .filter(([, id], i, all) => all.findIndex(([, x]) => x === id) === i)
        .map(([, id]) => id);
      assert.deepEqual(delivered, ids, `order in ${room}`);
    }
    // Each "redelivered" flag must correspond to a replay: never more than the kills could cause.
    assert.ok(flaggedDeliveries >= rawDuplicates);
    console.log(
      `      sigkill: ${kills} kills, ${resends} resends, ${lines.length} deliveries of ${expected.size} events, ` +
        `${rawDuplicates} raw duplicates (all flagged), ${flaggedDeliveries} flagged redelivered`,
    );
    await kill9(child);
  });
});
