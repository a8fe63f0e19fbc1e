/**
 * The embedded store's message map (Matrix event ↔ remote message): what a record costs in
 * memory, put and lookup times, and how long a restart takes to read the file back. Against a
 * NeDB datastore holding the same records with the lookups indexed, as the embedded store kept
 * them before (and as NeDB-based bridges keep theirs), measured in the same run.
 * See bench/README.md.
 *
 *   npx tsx --expose-gc bench/message-map.ts [--records 100000] [--rooms 50] [--senders 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import Datastore from 'nedb-promises';
import { MessageLog } from '../src/store/nedb/message-log';
import { portalKeyString, type PortalKey } from '../src/connector/ids';
import type { MessageRecord } from '../src/store/store';
import { arg, getGc } from '../../../bench/cli';

process.env.CAUSEWAY_LOG_LEVEL ??= 'error';

const RECORDS = Number(arg('records', '100000'));
const ROOMS = Number(arg('rooms', '50'));
const SENDERS = Number(arg('senders', '200'));
const LOOKUPS = Math.min(RECORDS, 20_000);
const IN_FLIGHT = 5_000;
const SEP = '\u0000';

const gc = getGc();
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

// As in a bridge: room IDs, senders and portal keys are shared (they come from portal and ghost
// objects); event IDs come fresh from each homeserver response; remote IDs and bodies are new.
const rooms = Array.from({ length: ROOMS }, (_, i) => `!r${i}AbCdEfGhIjKlMnOp:example.org`);
const portals: PortalKey[] = Array.from({ length: ROOMS }, (_, i) => ({ network: 'libera', id: `#channel${i}` }));
const senders = Array.from({ length: SENDERS }, (_, i) => `@irc_nick${i}:example.org`);
const words = 'the quick brown fox jumps over the lazy dog on the bridge between matrix and irc'.split(' ');
const remoteIdOf = (i: number) => `${(1_700_000_000_000 + i).toString(36)}-${(i * 104_729).toString(36)}`;
function record(i: number): MessageRecord {
  const eventId = JSON.parse(JSON.stringify(`$${(i * 7919).toString(36)}${'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'.slice(i % 7)}`)) as string;
  const body = Array.from({ length: 6 + (i % 10) }, (_, k) => words[(i + k * 7) % words.length]).join(' ');
  return {
    roomId: rooms[i % ROOMS],
    eventId,
    portal: portals[i % ROOMS],
    remoteId: remoteIdOf(i),
    part: 0,
    sender: senders[i % SENDERS],
    timestamp: 1_700_000_000_000 + i,
    body,
  };
}

interface Store {
  put(r: MessageRecord): Promise<void>;
  byRemote(p: PortalKey, remoteId: string): Promise<unknown[]>;
  close(): Promise<void>;
}

async function openLog(file: string): Promise<Store> {
  const log = await MessageLog.open(file);
  return { put: (r) => log.put(r), byRemote: (p, id) => log.getByRemote(p, id), close: () => log.close() };
}

/** A NeDB datastore with the embedded store's old layout and indexes (ev, rk, timestamp). */
async function openNedb(file: string): Promise<Store> {
  const ds = Datastore.create({ filename: file, autoload: false });
  await ds.load();
  for (const fieldName of ['ev', 'rk', 'timestamp']) await ds.ensureIndex({ fieldName });
  return {
    async put(r) {
      const ev = r.roomId + SEP + r.eventId;
      const doc = { _id: ev + SEP + r.part, ev, rk: portalKeyString(r.portal) + SEP + r.remoteId, ...r };
      await ds.update({ _id: doc._id }, doc, { upsert: true });
    },
    byRemote: (p, id) => ds.find({ rk: portalKeyString(p) + SEP + id }),
    // As the embedded store compacts its NeDB files (nedb-store.ts).
    close: () => (ds as unknown as { compactDatafileAsync(): Promise<void> }).compactDatafileAsync(),
  };
}

interface Row {
  name: string;
  bytes: number;
  putUs: number;
  lookupUs: number;
  reloadMs: number;
  found: boolean;
}

async function measure(name: string, open: (file: string) => Promise<Store>): Promise<Row> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'causeway-bench-mmap-'));
  try {
    const file = path.join(dir, 'messages.db');
    const store = await open(file);
    const h0 = heapAfterGc();
    let t = performance.now();
    // Up to IN_FLIGHT puts outstanding: throughput, not one put's wait for its batch's write.
    for (let i = 0; i < RECORDS; i += IN_FLIGHT) {
      const batch: Promise<void>[] = [];
      for (let k = i; k < Math.min(RECORDS, i + IN_FLIGHT); k++) batch.push(store.put(record(k)));
      await Promise.all(batch);
    }
    const putUs = ((performance.now() - t) * 1000) / RECORDS;
    const bytes = (heapAfterGc() - h0) / RECORDS;
    t = performance.now();
    for (let k = 0; k < LOOKUPS; k++) {
      const i = (k * 7_919) % RECORDS;
      await store.byRemote(portals[i % ROOMS], remoteIdOf(i));
    }
    const lookupUs = ((performance.now() - t) * 1000) / LOOKUPS;
    await store.close();
    t = performance.now();
    const again = await open(file);
    const reloadMs = performance.now() - t;
    const probe = (RECORDS * 3) >> 2;
    const found = (await again.byRemote(portals[probe % ROOMS], remoteIdOf(probe))).length === 1;
    await again.close();
    return { name, bytes, putUs, lookupUs, reloadMs, found };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `message map: ${RECORDS} records over ${ROOMS} rooms, one part each; ${LOOKUPS} lookups by remote ID; heap measured after GC`,
  );
  const baseline = await measure('NeDB datastore, indexed (baseline)', openNedb);
  const log = await measure('message log (the embedded store)', openLog);
  const head = ['', 'heap/record', `put (${IN_FLIGHT} in flight)`, 'lookup', 'reload', 'heap vs baseline'];
  const rows = [baseline, log].map((r) => [
    r.name,
    `${r.bytes.toFixed(0)} B`,
    `${r.putUs.toFixed(1)} µs`,
    `${r.lookupUs.toFixed(1)} µs`,
    `${r.reloadMs.toFixed(0)} ms${r.found ? '' : ' (record missing!)'}`,
    `${(r.bytes / baseline.bytes).toFixed(2)}×`,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  console.log();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log();
  console.log(
    `at 30 days' retention (message_retention_days) and 10,000 bridged messages a day: ${((log.bytes * 300_000) / 2 ** 20).toFixed(0)} MB of heap for the map`,
  );
  process.exitCode = baseline.found && log.found ? 0 : 1;
}

void main();
