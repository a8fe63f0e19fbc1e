import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DeliveryContext, MatrixRawEvent } from '../../../packages/bridge-core/src/appservice/transaction';
import { DeliveryPipeline } from '../../../packages/bridge-core/src/appservice/delivery';
import { TransactionJournal } from '../../../packages/bridge-core/src/appservice/transaction-journal';
import { BridgeError } from '../../../packages/bridge-core/src/connector/errors';
import { call, deferred, ev, startHarness, txn, waitFor, type Harness } from './helpers';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-as-'));
}

describe('appservice delivery', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.close(); h = undefined; });

  for (const mode of ['in-memory', 'journaled'] as const) {
    describe(mode, () => {
      const dir = () => (mode === 'journaled' ? tmpDir() : undefined);

      it('processes a retried txnId once (sequential and concurrent retries)', async () => {
        const seen: string[] = [];
        h = await startHarness({ journalDir: dir(), handler: async (e) => { seen.push(e.event_id!); } });
        const events = [ev('!a:hs', '$1'), ev('!a:hs', '$2')];
        const [r1, r2] = await Promise.all([txn(h.base, 'dup', events), txn(h.base, 'dup', events)]);
        assert.equal(r1.status, 200);
        assert.equal(r2.status, 200);
        assert.equal((await txn(h.base, 'dup', events)).status, 200);
        assert.equal((await call(h.base, 'PUT', '/transactions/dup', { body: { events } })).status, 200);
        await h.pipeline.idle();
        assert.deepEqual(seen, ['$1', '$2']);
      });

      it('keeps order within a room while a blocked room does not hold up another', async () => {
        const gate = deferred();
        const done: string[] = [];
        h = await startHarness({
          journalDir: dir(),
          concurrency: 2,
          handler: async (e) => {
            if (e.event_id === '$a1') await gate.promise;
            done.push(e.event_id!);
          },
        });
        const events: MatrixRawEvent[] = [ev('!a:hs', '$a1'), ev('!b:hs', '$b1'), ev('!a:hs', '$a2'), ev('!b:hs', '$b2')];
        assert.equal((await txn(h.base, 't1', events)).status, 200);
        assert.equal((await txn(h.base, 't2', [ev('!b:hs', '$b3'), ev('!a:hs', '$a3'), ev('!c:hs', '$c1')])).status, 200);
        await waitFor(() => done.length === 4);
        assert.deepEqual(done, ['$b1', '$b2', '$b3', '$c1']);
        assert.equal(h.pipeline.stats().roomsActive, 1);
        gate.resolve();
        await h.pipeline.idle();
        assert.deepEqual(done.slice(4), ['$a1', '$a2', '$a3']);
      });

      it('delivers events without a room in their own ordered lane', async () => {
        const gate = deferred();
        const done: string[] = [];
        h = await startHarness({
          journalDir: dir(),
          concurrency: 1,
          handler: async (e) => {
            if (e.event_id === '$a1') await gate.promise;
            done.push(e.type === 'm.presence' ? `presence:${(e.content as { n: number }).n}` : e.event_id!);
          },
        });
        const presence = (n: number) => ({ type: 'm.presence', sender: '@bob:hs', content: { presence: 'online', n } });
        assert.equal((await txn(h.base, 'p', [ev('!a:hs', '$a1')], { ephemeral: [presence(1), presence(2)] })).status, 200);
        await waitFor(() => done.length === 2);
        assert.deepEqual(done, ['presence:1', 'presence:2']);
        gate.resolve();
        await h.pipeline.idle();
      });

      it('holds transactions at the high-water mark instead of queueing without bound', async () => {
        const gate = deferred();
        let calls = 0;
        h = await startHarness({ journalDir: dir(), highWaterMark: 20, handler: async () => { calls++; await gate.promise; } });
        const perTxn = 7;
        let peak = 0;
        const sampler = setInterval(() => { peak = Math.max(peak, h!.pipeline.stats().unfinished + h!.pipeline.stats().journaling); }, 1);
        // The homeserver sends one transaction at a time, in order.
        let acked = 0;
        const sender = (async () => {
          for (let t = 0; t < 10; t++) {
            const events = Array.from({ length: perTxn }, (_, i) => ev(`!r${i}:hs`, `$t${t}e${i}`));
            const r = await txn(h!.base, `bp${t}`, events);
            assert.equal(r.status, 200);
            acked++;
          }
        })();
        await waitFor(() => h!.pipeline.stats().heldTransactions === 1);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(acked, 3, 'three transactions (21 events ≥ 20) accepted, the fourth held');
        assert.ok(h.pipeline.stats().peakUnfinished <= 20 + perTxn);
        gate.resolve();
        await sender;
        await h.pipeline.idle();
        clearInterval(sampler);
        assert.equal(calls, 70);
        assert.ok(peak <= 20 + perTxn, `peak ${peak}`);
        assert.ok(h.pipeline.stats().peakUnfinished <= 20 + perTxn, `peak ${h.pipeline.stats().peakUnfinished}`);
      });

      it('retries a failing handler, then gives up on a poison event without blocking its room', async () => {
        const attempts = new Map<string, number>();
        const done: string[] = [];
        h = await startHarness({
          journalDir: dir(),
          retry: { baseMs: 5, maxMs: 20, maxRetries: 3 },
          handler: async (e, d) => {
            attempts.set(e.event_id!, (attempts.get(e.event_id!) ?? 0) + 1);
            assert.equal(d.attempt, attempts.get(e.event_id!)! - 1);
            if (e.event_id === '$poison') throw new Error('cannot bridge this');
            if (e.event_id === '$flaky' && d.attempt < 2) throw new Error('remote hiccup');
            if (e.event_id === '$refused') throw new BridgeError('not allowed', { retryable: false });
            done.push(e.event_id!);
          },
        });
        const r = await txn(h.base, 'poison', [ev('!a:hs', '$poison'), ev('!a:hs', '$flaky'), ev('!a:hs', '$refused'), ev('!a:hs', '$after')]);
        assert.equal(r.status, 200);
        await h.pipeline.idle();
        assert.deepEqual(done, ['$flaky', '$after']);
        assert.equal(attempts.get('$poison'), 4);
        assert.equal(attempts.get('$flaky'), 3);
        assert.equal(attempts.get('$refused'), 1);
        const st = h.pipeline.stats();
        assert.equal(st.failed, 2);
        assert.equal(st.processed, 2);
        assert.equal(st.unfinished, 0);
      });
    });
  }

  describe('journal', () => {
    it('replays unfinished events after a restart, in order, flagged redelivered only if started', async () => {
      const dataDir = tmpDir();
      const gate = deferred();
      const first: string[] = [];
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e) => { first.push(e.event_id!); if (e.event_id === '$a2') await gate.promise; },
      });
      assert.equal((await txn(h.base, 'r1', [ev('!a:hs', '$a1'), ev('!a:hs', '$a2'), ev('!b:hs', '$b1')])).status, 200);
      await waitFor(() => first.includes('$a2') && first.includes('$b1'));
      // Queued behind the running $a2 after its run was marked started: never started.
      assert.equal((await txn(h.base, 'r2', [ev('!a:hs', '$a3')])).status, 200);
      await h.close(); // $a2 still running, $a3 never started
      h = undefined;

      const second: Array<[string, DeliveryContext]> = [];
      h = await startHarness({ journalDir: dataDir, handler: async (e, d) => { second.push([e.event_id!, d]); } });
      await h.pipeline.idle();
      assert.deepEqual(second.map(([id, d]) => [id, d.redelivered]), [['$a2', true], ['$a3', false]]);
      // The retried transaction is still known after the restart.
      assert.equal((await txn(h.base, 'r1', [ev('!a:hs', '$a1')])).status, 200);
      await h.pipeline.idle();
      assert.equal(second.length, 2);
      gate.resolve();
    });

    it('rotates segments and deletes fully finished ones, remembering txnIds', async () => {
      const dataDir = tmpDir();
      const seen: string[] = [];
      h = await startHarness({ journalDir: dataDir, journal: { segmentBytes: 2048, doneFlushMs: 1 }, handler: async (e) => { seen.push(e.event_id!); } });
      for (let t = 0; t < 30; t++) {
        assert.equal((await txn(h.base, `rot${t}`, [ev('!a:hs', `$r${t}a`), ev('!b:hs', `$r${t}b`)])).status, 200);
        await h.pipeline.idle();
      }
      const st = h.pipeline.stats().journal!;
      assert.ok(st.segmentsDeleted > 3, `deleted ${st.segmentsDeleted}`);
      assert.ok(fs.readdirSync(dataDir).length <= 2, fs.readdirSync(dataDir).join());
      await h.close();
      h = undefined;
      const again: string[] = [];
      h = await startHarness({ journalDir: dataDir, handler: async (e) => { again.push(e.event_id!); } });
      for (let t = 0; t < 30; t++) assert.equal((await txn(h.base, `rot${t}`, [ev('!a:hs', 'x')])).status, 200);
      await h.pipeline.idle();
      assert.deepEqual(again, []);
      assert.equal(seen.length, 60);
    });

    it('ignores a torn tail record', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir });
      const body = Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$t1')] }));
      await journal.append('torn1', body, 1);
      const body2 = Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$t2')] }));
      await journal.append('torn2', body2, 1);
      await journal.close();
      const file = fs.readdirSync(dataDir).map((f) => path.join(dataDir, f)).sort().at(-1)!;
      fs.truncateSync(file, fs.statSync(file).size - 5);
      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(replay.map((r) => r.txnId), ['torn1']);
      assert.equal(j2.has('torn1'), true);
      assert.equal(j2.has('torn2'), false);
      await j2.close();
    });

    it('keeps sequence numbers increasing across restarts', async () => {
      const dataDir = tmpDir();
      const seqs: number[] = [];
      const handler = async (_e: MatrixRawEvent, d: DeliveryContext) => { seqs.push(d.seq); };
      let p = await DeliveryPipeline.open({ journalDir: dataDir, handler });
      await p.accept('s1', { events: [ev('!a:hs', '$1'), ev('!a:hs', '$2')] }, Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$1'), ev('!a:hs', '$2')] })));
      await p.idle();
      await p.close();
      p = await DeliveryPipeline.open({ journalDir: dataDir, handler });
      await p.accept('s2', { events: [ev('!a:hs', '$3')] }, Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$3')] })));
      await p.idle();
      await p.close();
      assert.deepEqual(seqs, [0, 1, 2]);
    });
  });
});
