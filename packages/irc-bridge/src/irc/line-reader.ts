/**
 * Splits the bytes a server sends into lines, with a cap on a line's length.
 *
 * irc-framework keeps a server's unfinished line in one buffer that it copies whole on every read
 * and searches from its start each time: a line that never ends costs memory without bound and
 * time quadratic in its length (64 MiB took a bridge from 115 to 400 MB and slowed its unrelated
 * HTTP answers to 10 s, then it posted multi-megabyte events). Here each byte is looked at once,
 * and a line longer than IRCv3 allows (MAX_LINE_BYTES) is dropped as it grows past the cap; the
 * connection carries on with the next line.
 */

/** IRCv3 message-tags: up to 8191 bytes of tags plus the space after them, then RFC 1459's 512 (CR LF included). */
export const MAX_LINE_BYTES = 8192 + 512;

export interface LineReaderEvents {
  /** A whole line, its line end included. */
  line(bytes: Buffer): void;
  /** A line went past `maxBytes` (told once per line, when it does; the rest of it is skipped). */
  tooLong(bytesSoFar: number): void;
}

export class LineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside a line already reported too long: skipping to its end. */
  private skipping = false;

  constructor(
    private readonly on: LineReaderEvents,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  /** Forgets any unfinished line (a new connection starts clean). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
  }

  push(data: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = data.subarray(start, nl + 1);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.pendingBytes + piece.length > this.maxBytes) {
        this.on.tooLong(this.pendingBytes + piece.length);
        this.reset();
        continue;
      }
      const line = this.pending.length ? Buffer.concat([...this.pending, piece], this.pendingBytes + piece.length) : piece;
      this.reset();
      this.on.line(line);
    }
    if (start >= data.length || this.skipping) return;
    const rest = data.subarray(start);
    if (this.pendingBytes + rest.length > this.maxBytes) {
      this.on.tooLong(this.pendingBytes + rest.length);
      this.reset();
      this.skipping = true;
      return;
    }
    // A copy: a view would keep the whole chunk it came from alive while the line waits for its end.
    this.pending.push(Buffer.from(rest));
    this.pendingBytes += rest.length;
  }
}
