/**
 * Crash repair for NeDB datafiles, run before loading.
 *
 * NeDB writes every insert/update/delete by appending complete lines ending in
 * "\n" (compaction rewrites the file via a temp file + fsync + rename). A
 * process killed mid-append (kill -9, OOM) can leave a torn last line. NeDB
 * skips corrupt lines only while they stay under 10% of the file, so on a small
 * file a single torn line would stop the bridge from starting. Since only the
 * last line can be torn, we cut everything after the last "\n": that loses the
 * one write that was in flight, which had not been acknowledged anyway.
 */
import { promises as fs } from 'node:fs';

const CHUNK = 64 * 1024;

/** Returns the number of bytes dropped (0 when the file was fine or does not exist). */
export async function truncateTornTail(file: string): Promise<number> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return 0;
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return 0;
    // Scan backwards for the last newline.
    let end = size - 1;
    let keep = 0;
    const buf = Buffer.alloc(CHUNK);
    while (end > 0) {
      const start = Math.max(0, end - CHUNK);
      const len = end - start;
      await fh.read(buf, 0, len, start);
      const idx = buf.subarray(0, len).lastIndexOf(0x0a);
      if (idx >= 0) {
        keep = start + idx + 1;
        break;
      }
      end = start;
    }
    await fh.truncate(keep);
    await fh.sync();
    return size - keep;
  } finally {
    await fh.close();
  }
}
