/**
 * A synchronous `writev` of whole buffers to a file, continuing after short writes: how the
 * journal and the embedded store's logs append. A page-cache write of a few KB takes
 * microseconds; handing it to the libuv thread pool (fs.promises) cost far more in promise
 * machinery and cross-thread wake-ups than the copy itself, on every relayed message. Only
 * fdatasync, which waits for the disk, stays off the event loop.
 */
import * as fs from 'node:fs';

export function writeAllSync(fd: number, chunks: Buffer[], total = chunks.reduce((n, c) => n + c.length, 0)): void {
  let written = fs.writevSync(fd, chunks);
  while (written < total) {
    // Short write (rare on regular files): continue with what is left.
    let skip = written;
    const rest: Buffer[] = [];
    for (const c of chunks) {
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      rest.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
    total -= written;
    chunks = rest;
    written = fs.writevSync(fd, chunks);
  }
}
