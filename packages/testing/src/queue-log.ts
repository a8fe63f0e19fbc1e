/**
 * What a bridge has stored in its durable queues, read from its data directory while it runs or
 * after it was killed: the embedded store's queue log (`db/queues.db`), replayed line by line. A
 * SIGKILL spec reads it to show that lines really were waiting there when the bridge died.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asArray, asNumber, asObject, parseJson } from './spec-json';

/** Values of a durable queue as the bridge's queue log holds them now, oldest first. */
export function storedInQueue(dataDir: string, queue: string): unknown[] {
  const file = path.join(dataDir, 'db', 'queues.db');
  if (!existsSync(file)) return [];
  const live = new Map<number, unknown>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let parsed: unknown;
    try {
      parsed = parseJson(line);
    } catch {
      continue; // empty, or a line being written
    }
    // An append {a: queue, s: first seq, v: values} or a removal {r: queue, s: seqs}.
    const op = asObject(parsed, 'queue log line');
    if (op.a === queue) asArray(op.v, 'appended values').forEach((v, i) => live.set(asNumber(op.s, 'first seq') + i, v));
    if (op.r === queue) for (const seq of asArray(op.s, 'removed seqs')) live.delete(asNumber(seq, 'removed seq'));
  }
  return [...live.values()];
}
