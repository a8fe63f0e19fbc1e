/**
 * HTTP/1.1 over a raw socket, for specs that need what fetch hides: several requests on one
 * keep-alive connection, bytes that are not valid HTTP, a body that is never finished, and
 * whether the server closed the connection.
 */
import * as net from 'node:net';

export interface RawResponse {
  status: number;
  statusText: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export class RawConnection {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private _closed = false;
  /** Resolves once the server has closed (or reset) the connection. */
  readonly closed: Promise<void>;
  /** Bytes the socket accepted (`write` callbacks that succeeded). */
  bytesWritten = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.closed = new Promise<void>((resolve) => {
      const done = () => {
        this._closed = true;
        this.wake();
        resolve();
      };
      socket.once('close', done);
      socket.once('end', done);
    });
    socket.on('error', () => {
      /* a reset: seen as closed */
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this._closed || this.socket.destroyed;
  }

  /** Write bytes; resolves once the socket took them (false if it is closed). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.socket.write(data, (err) => {
        if (!err) this.bytesWritten += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
        resolve(!err);
      });
    });
  }

  /**
   * The next complete response (Content-Length or chunked framing), or undefined when the
   * connection closes first. Rejects after `timeoutMs`.
   */
  async response(timeoutMs = 10_000): Promise<RawResponse | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.buf);
      if (parsed) {
        this.buf = this.buf.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.isClosed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no complete response within ${timeoutMs} ms; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the server to close the connection; false if it is still open after `timeoutMs`. */
  async closesWithin(timeoutMs = 10_000): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    const open = new Promise<false>((resolve) => {
      t = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true as const), open]);
    clearTimeout(t);
    return result;
  }

  /** Everything received and not yet parsed as a response. */
  get pending(): Buffer {
    return this.buf;
  }

  /** Finish sending (half-close): the server sees the end of the stream. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function parseResponse(buf: Buffer): { response: RawResponse; consumed: number } | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  const status = Number(m[1]);
  let offset = headEnd + 4;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { response: { status, statusText: m[2], headers, body: Buffer.alloc(0) }, consumed: offset };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(offset, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      offset = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', offset);
        if (trailerEnd < 0) return undefined;
        return { response: { status, statusText: m[2], headers, body: Buffer.concat(parts) }, consumed: trailerEnd + 2 };
      }
      if (buf.length < offset + size + 2) return undefined;
      parts.push(buf.subarray(offset, offset + size));
      offset += size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < offset + length) return undefined;
  return {
    response: { status, statusText: m[2], headers, body: Buffer.from(buf.subarray(offset, offset + length)) },
    consumed: offset + length,
  };
}

/** A request as bytes: `GET /x HTTP/1.1`, Host, the given headers, and the body with its Content-Length. */
export function requestBytes(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const all: Record<string, string> = { Host: '127.0.0.1', ...headers };
  if (b && !Object.keys(all).some((k) => k.toLowerCase() === 'content-length')) all['Content-Length'] = String(b.length);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : Buffer.from(head, 'latin1');
}
