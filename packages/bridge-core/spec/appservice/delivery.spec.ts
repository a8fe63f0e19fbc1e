import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { DeliveryContext } from '../../src/appservice/transaction';
import type { MatrixEvent } from '../../src/matrix/event';
import { DeliveryPipeline } from '../../src/appservice/delivery';
import { crc32 } from 'node:zlib';
import { rangeRecord, TransactionJournal } from '../../src/appservice/transaction-journal';
import { BridgeError } from '../../src/connector/errors';
import type { Logger } from '../../src/logging/logger';
import { call, deferred, ev, startHarness, txn, waitFor, type Harness } from './helpers';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string) => {
    lines.push(`${level} ${msg}`);
  };
  const l: Logger = {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    trace: () => {},
    child: () => l,
    isLevelEnabled: () => true,
  };
  return l;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-as-'));
}

describe('appservice delivery', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const mode of ['in-memory', 'journaled'] as const) {
    describe(mode, () => {
      const dir = () => (mode === 'journaled' ? tmpDir() : undefined);

      it('processes a retried txnId once (sequential and concurrent retries)', async () => {
        const seen: string[] = [];
        h = await startHarness({
          journalDir: dir(),
          handler: async (e) => {
            seen.push(e.event_id!);
          },
        });
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
        const events: MatrixEvent[] = [ev('!a:hs', '$a1'), ev('!b:hs', '$b1'), ev('!a:hs', '$a2'), ev('!b:hs', '$b2')];
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
        h = await startHarness({
          journalDir: dir(),
          highWaterMark: 20,
          handler: async () => {
            calls++;
            await gate.promise;
          },
        });
        const perTxn = 7;
        let peak = 0;
        const sampler = setInterval(() => {
          peak = Math.max(peak, h!.pipeline.stats().unfinished + h!.pipeline.stats().journaling);
        }, 1);
        // The homeserver sends one transaction at a time, in order.
        let acked = 0;
        const sender = (async () => {
          for (let t = 0; t < 10; t++) {
            const events = Array.from({ length: perTxn }, (_, i) => ev(`!r${i}:hs`, `$t${t}e${i}`));
            const r = await txn(h.base, `bp${t}`, events);
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
        const r = await txn(h.base, 'poison', [
          ev('!a:hs', '$poison'),
          ev('!a:hs', '$flaky'),
          ev('!a:hs', '$refused'),
          ev('!a:hs', '$after'),
        ]);
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

  for (const mode of ['in-memory', 'journaled'] as const) {
    describe(`${mode}: a txnId is a key for retries, not an identity (homeservers reuse them)`, () => {
      const dir = () => (mode === 'journaled' ? tmpDir() : undefined);

      it('takes a known txnId with other events as a new transaction, answers its retries without reprocessing, and says so once at info', async () => {
        const handled: string[] = [];
        const lines: string[] = [];
        h = await startHarness({
          journalDir: dir(),
          handler: async (e) => {
            handled.push(e.event_id!);
          },
          log: recordingLogger(lines),
        });
        for (const [id, events] of [
          ['1', ['$a']],
          ['2', ['$b']],
          ['1', ['$c']],
          ['2', ['$d', '$e']],
          ['1', ['$c']],
          ['2', ['$d', '$e']],
        ] as const) {
          assert.equal(
            (
              await txn(
                h.base,
                id,
                events.map((e) => ev('!r:hs', e)),
              )
            ).status,
            200,
          );
        }
        await h.pipeline.idle();
        assert.deepEqual(handled, ['$a', '$b', '$c', '$d', '$e']);
        const reused = lines.filter((l) => /reused a transaction ID/.test(l));
        assert.equal(reused.length, 1, lines.join('\n'));
        assert.match(reused[0], /^info /);
      });

      it('a retry is recognised by its events, not its bytes: re-serialised (new unsigned.age) and without its ephemeral events', async () => {
        const handled: Array<string | undefined> = [];
        h = await startHarness({
          journalDir: dir(),
          handler: async (e) => {
            handled.push(e.event_id ?? e.type);
          },
        });
        const typing = [{ type: 'm.typing', room_id: '!r:hs', content: { user_ids: ['@alice:hs'] } }];
        assert.equal((await txn(h.base, '7', [ev('!r:hs', '$x', { unsigned: { age: 10 } })], { ephemeral: typing })).status, 200);
        assert.equal((await txn(h.base, '7', [ev('!r:hs', '$x', { unsigned: { age: 5012 } })])).status, 200);
        await h.pipeline.idle();
        assert.deepEqual(handled, ['$x', 'm.typing']);
      });

      it('never handles an event twice, whatever transaction it comes in; the rest of that transaction is handled', async () => {
        const handled: Array<string | undefined> = [];
        h = await startHarness({
          journalDir: dir(),
          handler: async (e) => {
            handled.push(e.event_id ?? e.type);
          },
        });
        assert.equal((await txn(h.base, '1', [ev('!r:hs', '$p'), ev('!r:hs', '$q')])).status, 200);
        assert.equal(
          (
            await txn(h.base, '2', [ev('!r:hs', '$q'), ev('!r:hs', '$s')], {
              ephemeral: [{ type: 'm.typing', room_id: '!r:hs', content: { user_ids: [] } }],
            })
          ).status,
          200,
        );
        assert.equal((await txn(h.base, '3', [ev('!r:hs', '$p')])).status, 200);
        await h.pipeline.idle();
        assert.deepEqual(handled, ['$p', '$q', '$s', 'm.typing']);
      });
    });
  }

  describe('journal: what was accepted is remembered across restarts, within bounds', () => {
    it('a retry after a bridge restart is still recognised by its events; a reused txnId still processed; a repeated event still dropped', async () => {
      const dataDir = tmpDir();
      const handled: string[] = [];
      const handler = async (e: MatrixEvent) => {
        handled.push(e.event_id!);
      };
      h = await startHarness({ journalDir: dataDir, handler });
      assert.equal((await txn(h.base, '1', [ev('!r:hs', '$one')])).status, 200);
      assert.equal((await txn(h.base, '2', [ev('!r:hs', '$two')])).status, 200);
      await h.pipeline.idle();
      await h.close();
      h = await startHarness({ journalDir: dataDir, handler });
      assert.equal((await txn(h.base, '2', [ev('!r:hs', '$two', { unsigned: { age: 99 } })])).status, 200, 'the retry');
      assert.equal((await txn(h.base, '1', [ev('!r:hs', '$three')])).status, 200, 'txnId 1 again, for a new event');
      assert.equal((await txn(h.base, '9', [ev('!r:hs', '$one'), ev('!r:hs', '$four')])).status, 200, 'an old event again');
      await h.pipeline.idle();
      assert.deepEqual(handled, ['$one', '$two', '$three', '$four']);
    });

    it('remembers a bounded number of event IDs, also after rotations and restarts', async () => {
      const dataDir = tmpDir();
      const handled: string[] = [];
      const handler = async (e: MatrixEvent) => {
        handled.push(e.event_id!);
      };
      const journal = { rememberEvents: 3, rememberTxns: 4, segmentBytes: 1, doneFlushMs: 1 }; // every write rotates: snapshots carry it all
      h = await startHarness({ journalDir: dataDir, journal, handler });
      for (let i = 1; i <= 6; i++) assert.equal((await txn(h.base, `t${i}`, [ev('!r:hs', `$e${i}`)])).status, 200);
      await h.pipeline.idle();
      let st = h.pipeline.stats().journal!;
      assert.deepEqual([st.knownEvents, st.knownTxns], [3, 4]);
      await h.close();
      h = await startHarness({ journalDir: dataDir, journal, handler });
      st = h.pipeline.stats().journal!;
      assert.deepEqual([st.knownEvents, st.knownTxns], [3, 4]);
      // $e6 is remembered; $e1 fell out of the window (3 event IDs) and would be handled again.
      assert.equal((await txn(h.base, 'x1', [ev('!r:hs', '$e6')])).status, 200);
      assert.equal((await txn(h.base, 'x2', [ev('!r:hs', '$e1')])).status, 200);
      await h.pipeline.idle();
      assert.deepEqual(handled, ['$e1', '$e2', '$e3', '$e4', '$e5', '$e6', '$e1']);
    });

    it('reads an older journal (txnIds without their events): such a txnId with events is processed, not dropped', async () => {
      const dataDir = tmpDir();
      // What an older version wrote: one segment holding a SNAPSHOT record (type 4) of txnIds only.
      const ids = Buffer.from(JSON.stringify(['1', '2', '3']));
      const payload = Buffer.alloc(8 + ids.length);
      payload.writeDoubleLE(42, 0);
      ids.copy(payload, 8);
      const rec = Buffer.alloc(9 + payload.length);
      rec.writeUInt32LE(1 + payload.length, 0);
      rec[8] = 4;
      payload.copy(rec, 9);
      rec.writeUInt32LE(crc32(rec.subarray(8)) >>> 0, 4);
      fs.writeFileSync(path.join(dataDir, 'seg-0000000001.log'), rec);
      const handled: Array<[string, number]> = [];
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e, d) => {
          handled.push([e.event_id!, d.seq]);
        },
      });
      assert.equal(h.pipeline.stats().journal!.knownTxns, 3);
      assert.equal((await txn(h.base, '2', [ev('!r:hs', '$after-upgrade')])).status, 200);
      await h.pipeline.idle();
      assert.deepEqual(handled, [['$after-upgrade', 42]]);
    });

    it('replays an event once when a refused record was sent again in another composition (the homeserver restarted meanwhile)', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir, fsync: 'never' });
      const body = (events: MatrixEvent[], extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ events, ...extra }));
      const typing = { ephemeral: [{ type: 'm.typing', room_id: '!r:hs', content: { user_ids: [] } }] };
      const nodeFs = createRequire(__filename)('node:fs') as typeof fs;
      const realWritev = nodeFs.writevSync;
      const mut = nodeFs as unknown as Record<string, unknown>;
      // The record reaches the file, then the write is reported failed: refused, the homeserver will send it again.
      mut.writevSync = (fd: number, chunks: Buffer[]) => {
        mut.writevSync = realWritev;
        nodeFs.writeSync(fd, Buffer.concat(chunks));
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      };
      try {
        await assert.rejects(journal.append('5', body([ev('!r:hs', '$m1'), ev('!r:hs', '$m2')], typing), 3), /EIO/);
      } finally {
        mut.writevSync = realWritev;
      }
      assert.equal(journal.seen.hasEvent('$m1'), false, 'a refused write is forgotten');
      // After its restart the homeserver sends the events again, without the typing notification.
      await journal.append('5', body([ev('!r:hs', '$m1'), ev('!r:hs', '$m2')]), 2);
      await journal.close();
      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      const replayed = replay.flatMap((r) =>
        r.pending.map((p) => (r.body.events[p.index] as MatrixEvent | undefined)?.event_id ?? 'ephemeral'),
      );
      assert.deepEqual(
        replayed.filter((id) => id !== 'ephemeral'),
        ['$m1', '$m2'],
      );
      await j2.close();
    });
  });

  describe('journal', () => {
    it('replays unfinished events after a restart, in order, flagged redelivered only if started', async () => {
      const dataDir = tmpDir();
      const gate = deferred();
      const first: string[] = [];
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e) => {
          first.push(e.event_id!);
          if (e.event_id === '$a2') await gate.promise;
        },
      });
      assert.equal((await txn(h.base, 'r1', [ev('!a:hs', '$a1'), ev('!a:hs', '$a2'), ev('!b:hs', '$b1')])).status, 200);
      await waitFor(() => first.includes('$a2') && first.includes('$b1'));
      // Queued behind the running $a2 after its run was marked started: never started.
      assert.equal((await txn(h.base, 'r2', [ev('!a:hs', '$a3')])).status, 200);
      await h.close(); // $a2 still running, $a3 never started
      h = undefined;

      const second: Array<[string, DeliveryContext]> = [];
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e, d) => {
          second.push([e.event_id!, d]);
        },
      });
      await h.pipeline.idle();
      assert.deepEqual(
        second.map(([id, d]) => [id, d.redelivered]),
        [
          ['$a2', true],
          ['$a3', false],
        ],
      );
      // The retried transaction is still known after the restart.
      assert.equal((await txn(h.base, 'r1', [ev('!a:hs', '$a1')])).status, 200);
      await h.pipeline.idle();
      assert.equal(second.length, 2);
      gate.resolve();
    });

    it('rotates segments and deletes fully finished ones, remembering txnIds', async () => {
      const dataDir = tmpDir();
      const seen: string[] = [];
      h = await startHarness({
        journalDir: dataDir,
        journal: { segmentBytes: 2048, doneFlushMs: 1 },
        handler: async (e) => {
          seen.push(e.event_id!);
        },
      });
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
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e) => {
          again.push(e.event_id!);
        },
      });
      // The homeserver's retries of all 30 (same txnIds, same events), after the segments holding them are gone.
      for (let t = 0; t < 30; t++)
        assert.equal((await txn(h.base, `rot${t}`, [ev('!a:hs', `$r${t}a`), ev('!b:hs', `$r${t}b`)])).status, 200);
      await h.pipeline.idle();
      assert.deepEqual(again, []);
      assert.equal(seen.length, 60);
    });

    it('rotates an aged segment so handled messages leave the disk on a quiet bridge', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir, doneFlushMs: 1, segmentMaxAgeMs: 40 });
      const secret = 'hunter2-password-typed-in-an-admin-room';
      const seq = await journal.append(
        'secret1',
        Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$s1', { content: { msgtype: 'm.text', body: secret } })] })),
        1,
      );
      await new Promise<void>((r) => journal.markStarted([seq], () => r()));
      journal.markDone(seq);
      await journal.flush();
      const onDisk = () => fs.readdirSync(dataDir).some((f) => fs.readFileSync(path.join(dataDir, f)).includes(secret));
      assert.equal(onDisk(), true);
      const deadline = Date.now() + 5000;
      while (onDisk() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(onDisk(), false, 'the finished segment holding the message was deleted');
      assert.equal(journal.seen.hasTxn('secret1'), true, 'the txnId is still remembered for dedupe');
      assert.equal(journal.seen.hasEvent('$s1'), true, 'and its event');
      await journal.close();
    });

    it('drops a finished event that carried a secret from disk at once (forget), still remembering its txnId', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir, doneFlushMs: 1 });
      const secret = 'hunter2-password-typed-in-an-admin-room';
      const seq = await journal.append(
        'secret1',
        Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$s1', { content: { msgtype: 'm.text', body: `!storepass ${secret}` } })] })),
        1,
      );
      await new Promise<void>((r) => journal.markStarted([seq], () => r()));
      journal.markDone(seq);
      journal.forget(seq);
      await journal.flush();
      const onDisk = fs.readdirSync(dataDir).filter((f) => fs.readFileSync(path.join(dataDir, f)).includes(secret));
      assert.deepEqual(onDisk, [], 'no segment holds the secret once it was handled');
      assert.equal(journal.seen.hasTxn('secret1'), true);
      await journal.close();
      const reopened = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(reopened.replay, []);
      assert.equal(reopened.journal.seen.hasTxn('secret1'), true);
      await reopened.journal.close();
    });

    it('drops a secret whose segment older unfinished events keep: they are still replayed, their markers kept', async () => {
      const dataDir = tmpDir();
      // Every write starts a new segment, so the secret lands in a segment after the unfinished one.
      const { journal } = await TransactionJournal.open({ dir: dataDir, doneFlushMs: 1, segmentBytes: 1 });
      const secret = 'correct-horse-battery-staple';
      const oldSeq = await journal.append('old', Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$old')] })), 1);
      // Its STARTED marker and the secret's transaction share a write, hence a segment.
      const started = new Promise<void>((r) => journal.markStarted([oldSeq], () => r()));
      const seq = await journal.append(
        'secret2',
        Buffer.from(JSON.stringify({ events: [ev('!b:hs', '$s2', { content: { msgtype: 'm.text', body: secret } })] })),
        1,
      );
      await started;
      await new Promise<void>((r) => journal.markStarted([seq], () => r()));
      journal.markDone(seq);
      journal.forget(seq);
      await journal.flush();
      const files = fs.readdirSync(dataDir);
      assert.ok(files.length >= 2, files.join());
      assert.deepEqual(
        files.filter((f) => fs.readFileSync(path.join(dataDir, f)).includes(secret)),
        [],
      );
      await journal.close();
      const reopened = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(
        reopened.replay.map((t) => [t.txnId, t.pending]),
        [['old', [{ index: 0, seq: oldSeq, started: true }]]],
      );
      assert.equal(reopened.journal.seen.hasTxn('secret2'), true);
      assert.equal(reopened.journal.seen.hasTxn('old'), true);
      await reopened.journal.close();
    });

    it('refuses transactions while the disk is full, without crashing, and takes them again once it is not', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir, fsync: 'never', segmentBytes: 1 }); // every write rotates
      const body = Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$full1')] }));
      // The module object itself (an `import * as` namespace is a copy): what the journal calls.
      const nodeFs = createRequire(__filename)('node:fs') as typeof fs;
      const real = { writevSync: nodeFs.writevSync, writeSync: nodeFs.writeSync };
      const enospc = () => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      };
      const mut = nodeFs as unknown as Record<string, unknown>;
      mut.writevSync = enospc;
      mut.writeSync = enospc;
      try {
        await assert.rejects(journal.append('full1', body, 1), /segment|ENOSPC/);
        // The retry timer rotates again (still failing) and the homeserver resends: still refused, still running.
        await new Promise((r) => setTimeout(r, 1200));
        await assert.rejects(journal.append('full1', body, 1), /segment|ENOSPC/);
      } finally {
        mut.writevSync = real.writevSync;
        mut.writeSync = real.writeSync;
      }
      const seq = await journal.append('full1', body, 1);
      assert.ok(seq > 0);
      await journal.close();
      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(
        replay.map((r) => r.txnId),
        ['full1'],
        'written once, after the disk came back',
      );
      await j2.close();
    });

    it('replays a transaction written twice (a write failed after its record reached the file; the homeserver resent it) once', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir, fsync: 'never' });
      const body = (id: string) => Buffer.from(JSON.stringify({ events: [ev('!a:hs', id)] }));
      await journal.append('keep', body('$keep'), 1); // unfinished: its segment stays on disk
      const nodeFs = createRequire(__filename)('node:fs') as typeof fs;
      const realWritev = nodeFs.writevSync;
      const mut = nodeFs as unknown as Record<string, unknown>;
      // Disk full half-way through a batch of two: A's record is whole in the file, B's is not, both are refused.
      mut.writevSync = (fd: number, chunks: Buffer[]) => {
        mut.writevSync = realWritev;
        nodeFs.writeSync(fd, Buffer.concat(chunks.slice(0, 2)));
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      };
      try {
        const both = [journal.append('A', body('$a'), 1), journal.append('B', body('$b'), 1)];
        for (const p of both) await assert.rejects(p, /ENOSPC/);
      } finally {
        mut.writevSync = realWritev;
      }
      await journal.append('A', body('$a'), 1); // the homeserver's resends, acknowledged
      await journal.append('B', body('$b'), 1);
      await journal.close();
      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(
        replay.map((r) => r.txnId),
        ['keep', 'A', 'B'],
      );
      await j2.close();
    });

    it('ignores a torn tail record', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir });
      const body = Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$t1')] }));
      await journal.append('torn1', body, 1);
      const body2 = Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$t2')] }));
      await journal.append('torn2', body2, 1);
      await journal.close();
      const file = fs
        .readdirSync(dataDir)
        .map((f) => path.join(dataDir, f))
        .sort()
        .at(-1)!;
      fs.truncateSync(file, fs.statSync(file).size - 5);
      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(
        replay.map((r) => r.txnId),
        ['torn1'],
      );
      assert.equal(j2.seen.hasTxn('torn1'), true);
      assert.equal(j2.seen.hasTxn('torn2'), false);
      await j2.close();
    });

    it('encodes STARTED/DONE markers as sorted ranges of consecutive sequence numbers', () => {
      const rec = rangeRecord(6, [7, 3, 4, 5, 10, 4, 11, 0]);
      assert.equal(rec.readUInt32LE(0), rec.length - 8);
      assert.equal(rec.readUInt32LE(4), crc32(rec.subarray(8)) >>> 0);
      assert.equal(rec[8], 6);
      const ranges: Array<[number, number]> = [];
      for (let o = 9; o < rec.length; o += 12) ranges.push([rec.readDoubleLE(o), rec.readUInt32LE(o + 8)]);
      assert.deepEqual(ranges, [
        [0, 1],
        [3, 3],
        [7, 1],
        [10, 2],
      ]);
      assert.equal(rangeRecord(5, []).length, 9);
    });

    it('range markers survive a restart: done events are not replayed, started ones are flagged', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir, doneFlushMs: 1 });
      const events = Array.from({ length: 10 }, (_, i) => ev(`!r${i % 3}:hs`, `$g${i}`));
      const first = await journal.append('g1', Buffer.from(JSON.stringify({ events })), 10);
      assert.equal(first, 0);
      // Started: 0-5 and 8 (three records in one batch, out of order); done: 0-2, 4 and 8.
      await new Promise<void>((resolve) => {
        let n = 0;
        const go = () => {
          if (++n === 3) resolve();
        };
        journal.markStarted([3, 4, 5], go);
        journal.markStarted([8, 0, 1], go);
        journal.markStarted([2], go);
      });
      for (const seq of [0, 1, 2, 4, 8]) journal.markDone(seq);
      await journal.flush();
      await journal.close();
      const types = recordTypes(dataDir);
      assert.ok(types.includes(5) && types.includes(6), `record types ${types.join()}`);
      assert.ok(!types.includes(2) && !types.includes(3), `record types ${types.join()}`);

      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      assert.equal(replay.length, 1);
      assert.deepEqual(replay[0].pending, [
        { index: 3, seq: 3, started: true },
        { index: 5, seq: 5, started: true },
        { index: 6, seq: 6, started: false },
        { index: 7, seq: 7, started: false },
        { index: 9, seq: 9, started: false },
      ]);
      await j2.close();
    });

    it('still reads per-sequence-number STARTED/DONE records of older journals', async () => {
      const dataDir = tmpDir();
      const { journal } = await TransactionJournal.open({ dir: dataDir });
      const events = [ev('!a:hs', '$o0'), ev('!a:hs', '$o1'), ev('!a:hs', '$o2')];
      await journal.append('old1', Buffer.from(JSON.stringify({ events })), 3);
      await journal.close();
      // Append what an older version wrote: STARTED [0, 1] and DONE [0], one f64 each.
      const file = fs
        .readdirSync(dataDir)
        .map((f) => path.join(dataDir, f))
        .sort()
        .at(-1)!;
      const legacy = (type: number, seqs: number[]) => {
        const out = Buffer.alloc(9 + seqs.length * 8);
        out.writeUInt32LE(1 + seqs.length * 8, 0);
        out[8] = type;
        seqs.forEach((q, i) => out.writeDoubleLE(q, 9 + i * 8));
        out.writeUInt32LE(crc32(out.subarray(8)) >>> 0, 4);
        return out;
      };
      fs.appendFileSync(file, Buffer.concat([legacy(2, [0, 1]), legacy(3, [0])]));
      const { journal: j2, replay } = await TransactionJournal.open({ dir: dataDir });
      assert.deepEqual(replay[0].pending, [
        { index: 1, seq: 1, started: true },
        { index: 2, seq: 2, started: false },
      ]);
      await j2.close();
    });

    it("fsync 'always': acknowledges and starts handlers only after an fdatasync, sharing syncs across writes", async () => {
      const dataDir = tmpDir();
      const seen: string[] = [];
      h = await startHarness({
        journalDir: dataDir,
        journal: { fsync: 'always', doneFlushMs: 1 },
        handler: async (e) => {
          seen.push(e.event_id!);
        },
      });
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, t) => txn(h!.base, `al${t}`, [ev(`!r${t % 4}:hs`, `$al${t}a`), ev(`!r${t % 4}:hs`, `$al${t}b`)])),
      );
      assert.deepEqual(
        replies.map((r) => r.status),
        Array(20).fill(200),
      );
      await h.pipeline.idle();
      assert.equal(seen.length, 40);
      for (let t = 0; t < 20; t++) assert.ok(seen.indexOf(`$al${t}a`) < seen.indexOf(`$al${t}b`));
      const st = h.pipeline.stats().journal!;
      assert.ok(st.fsyncs >= 1 && st.fsyncs <= st.writes, `fsyncs ${st.fsyncs}, writes ${st.writes}`);
      await h.close();
      h = undefined;
      const again: string[] = [];
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e) => {
          again.push(e.event_id!);
        },
      });
      await h.pipeline.idle();
      assert.deepEqual(again, []);
    });

    it('acknowledges a transaction of ignorable echoes without journaling or handling it; anything else goes the normal way', async () => {
      const dataDir = tmpDir();
      const handled: string[] = [];
      const ignored: string[] = [];
      h = await startHarness({
        journalDir: dataDir,
        handler: async (e) => {
          handled.push(e.event_id!);
        },
        ignorable: (e) => e.sender === '@ghost:hs' && typeof e.state_key !== 'string',
        onIgnored: (e) => {
          ignored.push(e.event_id!);
        },
      });
      const echo = (id: string) => ev('!a:hs', id, { sender: '@ghost:hs' });
      assert.equal((await txn(h.base, 'e1', [echo('$g1'), echo('$g2')])).status, 200);
      assert.equal((await txn(h.base, 'e1', [echo('$g1'), echo('$g2')])).status, 200, 'a retry is acknowledged');
      await h.pipeline.idle();
      assert.deepEqual(ignored, ['$g1', '$g2'], 'and not seen twice');
      assert.deepEqual(handled, []);
      assert.equal(h.pipeline.stats().journal!.bytesWritten, 0, 'nothing journaled');
      assert.equal(h.pipeline.stats().journal!.knownTxns, 1, 'but the txnId is known');
      // A ghost's state event, a user's message next to an echo, or an ephemeral event: journaled and handled.
      const member = ev('!a:hs', '$m1', {
        sender: '@ghost:hs',
        type: 'm.room.member',
        state_key: '@ghost:hs',
        content: { membership: 'join' },
      });
      assert.equal((await txn(h.base, 'e2', [member])).status, 200);
      assert.equal((await txn(h.base, 'e3', [echo('$g3'), ev('!a:hs', '$u1')])).status, 200);
      assert.equal(
        (
          await call(h.base, 'PUT', '/_matrix/app/v1/transactions/e4', {
            body: { events: [echo('$g4')], ephemeral: [{ type: 'm.typing', room_id: '!a:hs', content: { user_ids: [] } }] },
          })
        ).status,
        200,
      );
      await h.pipeline.idle();
      assert.deepEqual(handled, ['$m1', '$g3', '$u1', '$g4', undefined]);
      assert.deepEqual(ignored, ['$g1', '$g2']);
      assert.equal(h.pipeline.stats().journal!.knownTxns, 4);
    });

    it('keeps sequence numbers increasing across restarts', async () => {
      const dataDir = tmpDir();
      const seqs: number[] = [];
      const handler = async (_e: MatrixEvent, d: DeliveryContext) => {
        seqs.push(d.seq);
      };
      let p = await DeliveryPipeline.open({ journalDir: dataDir, handler });
      await p.accept(
        's1',
        { events: [ev('!a:hs', '$1'), ev('!a:hs', '$2')] },
        Buffer.from(JSON.stringify({ events: [ev('!a:hs', '$1'), ev('!a:hs', '$2')] })),
      );
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

/** Record types in a journal directory's segments, in order. */
function recordTypes(dir: string): number[] {
  const types: number[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const buf = fs.readFileSync(path.join(dir, f));
    for (let off = 0; off + 9 <= buf.length; off += 8 + buf.readUInt32LE(off)) types.push(buf[off + 8]);
  }
  return types;
}
