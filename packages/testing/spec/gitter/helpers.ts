// Helpers for the Gitter emulator specs: a manual clock, raw REST calls that expose status and
// headers, a stream reader that sees HTTP chunk frames exactly as the server wrote them (so chunk
// hooks can be checked without depending on TCP timing), and polling.
import * as net from 'node:net';
import { asObject, parseJson, type JsonObject } from '../../src/spec-json';

export class ManualClock {
  constructor(public ms = Date.UTC(2024, 0, 15, 12, 0, 0)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  /** The parsed answer (`undefined` when empty), whatever its shape: narrow it where it is read. */
  body: unknown;
}

export async function api(base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(base + path, {
    method,
    headers: {
      Accept: 'application/json',
      ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? parseJson(text) : undefined };
}

/** A streaming request read off a raw socket: the status line, headers and each HTTP chunk frame. */
export class RawStream {
  status = 0;
  headers: Record<string, string> = {};
  /** Decoded chunk payloads, one per frame the server wrote. */
  readonly chunks: Buffer[] = [];
  closed = false;
  /** The server ended the body (final zero-size chunk). */
  ended = false;
  private buf = Buffer.alloc(0);
  private headDone = false;
  private socket: net.Socket;

  constructor(url: string, token?: string) {
    const u = new URL(url);
    this.socket = net.connect(Number(u.port), u.hostname);
    this.socket.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nAccept: application/json\r\n` +
        (token ? `Authorization: Bearer ${token}\r\n` : '') +
        '\r\n',
    );
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => (this.closed = true));
  }

  /** Everything received so far, as text. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Non-blank lines parsed as JSON; every stream record is an object (a message or a removal). */
  records(): JsonObject[] {
    return this.text()
      .split(/[\r\n]+/)
      .filter((l) => l.trim() !== '')
      .map((l, i) => asObject(parseJson(l), `record ${i}`));
  }

  /** The body of a non-streaming (error) answer. */
  body(): string {
    return this.buf.toString('utf8');
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.headDone) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      this.status = Number(lines[0].split(' ')[1]);
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        this.headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      this.buf = this.buf.subarray(end + 4);
      this.headDone = true;
    }
    if (this.headers['transfer-encoding'] !== 'chunked') return;
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol === -1) return;
      const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
      if (this.buf.length < eol + 2 + size + 2) return;
      if (size > 0) this.chunks.push(Buffer.from(this.buf.subarray(eol + 2, eol + 2 + size)));
      else this.ended = true;
      this.buf = this.buf.subarray(eol + 2 + size + 2);
    }
  }
}

export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
