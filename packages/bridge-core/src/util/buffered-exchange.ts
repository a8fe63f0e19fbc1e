/**
 * One HTTP request through an undici dispatcher, its response read whole into
 * memory: what every JSON call to the homeserver needs, with nothing else.
 *
 * Why not `dispatcher.request()`: it wraps every response in a Node `Readable`
 * (stream state, listeners, an async resource, a `setImmediate` on close) and
 * parses every header, only for the body to be read at once and the headers
 * looked at on errors alone. On a bridge that relays each remote message with
 * one request, that machinery was a fair share of the CPU and garbage per
 * message (bench/irc.ts). Here the body's chunks are collected as they come and
 * the headers are parsed only when asked for.
 */
import type { Dispatcher } from 'undici';

interface BufferedResponse {
  status: number;
  /** The body's bytes (empty when there was none). */
  body: Buffer;
  /** Response headers, names lower-cased; a repeated header keeps its first value. Parsed on first use. */
  headers(): Record<string, string>;
}

export interface ExchangeOptions {
  origin: string;
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: Buffer;
  /** Headers and body timeouts handed to undici (its own guards; the caller runs its own timer too). */
  headersTimeout: number;
  bodyTimeout: number;
}

/** A started exchange: its response, and a way to abort it (the promise then rejects with `reason`). */
export interface Exchange {
  response: Promise<BufferedResponse>;
  abort(reason: Error): void;
}

export function exchange(dispatcher: Dispatcher, opts: ExchangeOptions): Exchange {
  const handler = new BufferingHandler();
  const response = new Promise<BufferedResponse>((resolve, reject) => {
    handler.resolve = resolve;
    handler.reject = reject;
  });
  dispatcher.dispatch(
    {
      origin: opts.origin,
      path: opts.path,
      method: opts.method,
      headers: opts.headers,
      body: opts.body,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
    },
    handler,
  );
  return { response, abort: (reason) => handler.abortWith(reason) };
}

/** undici's handler interface, the form its core calls directly (no adapter in between). */
class BufferingHandler implements Dispatcher.DispatchHandler {
  resolve!: (r: BufferedResponse) => void;
  reject!: (err: Error) => void;
  private abortFn: ((reason: Error) => void) | undefined;
  private aborted: Error | undefined;
  private done = false;
  private status = 0;
  private rawHeaders: Buffer[] | string[] = [];
  private chunks: Buffer[] = [];
  private size = 0;

  abortWith(reason: Error): void {
    if (this.done || this.aborted) return;
    this.aborted = reason;
    // Before the request has a connection there is nothing to abort yet: onConnect does it.
    this.abortFn?.(reason);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.aborted) {
      abort(this.aborted);
      return;
    }
    this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[]): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the real response follows
    this.status = statusCode;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const raw = this.rawHeaders;
    let parsed: Record<string, string> | undefined;
    this.resolve({ status: this.status, body, headers: () => (parsed ??= parseRawHeaders(raw)) });
  }

  onError(err: Error): void {
    if (this.done) return;
    this.done = true;
    // An abort of ours fails with its own reason, whatever undici wrapped it in.
    this.reject(this.aborted ?? err);
  }
}

function parseRawHeaders(raw: Buffer[] | string[]): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toString('latin1').toLowerCase();
    if (!(name in out)) out[name] = raw[i + 1].toString('latin1');
  }
  return out;
}
