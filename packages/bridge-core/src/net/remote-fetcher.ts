/**
 * The one way the bridge fetches a URL that a remote network or its users chose (avatars, custom
 * emoji, attachments, upload URLs): `MediaService.fetchRemote` (contract in
 * connector/remote-fetch.ts). Without it a remote user could make the bridge request
 * http://169.254.169.254/ or an admin page on the operator's LAN and then post the answer back
 * as an avatar. Every request here:
 * - connects only to globally routable addresses, checked on the address the socket connects to
 *   (guarded-connector.ts: no DNS-rebinding gap), unless `remote_fetch.allowed_private_ips`
 *   allow-lists the range (a media host on the LAN; the emulators in tests);
 * - is http(s) only, without credentials in the URL, and passes the caller's `allowUrl`;
 * - follows at most `maxRedirects` redirects, each target checked like the first URL, dropping
 *   credentials (Authorization, Cookie) when a redirect leaves the origin;
 * - has one deadline for the whole exchange and a cap on the body, checked while it arrives.
 */
import type * as dns from 'node:dns';
import { Agent, request, type Dispatcher } from 'undici';
import { RemoteFetchError, type RemoteFetchOptions, type RemoteResponse } from '../connector/remote-fetch';
import { parseAllowList } from './ssrf-guard';
import { guardedConnector } from './guarded-connector';

export interface RemoteFetcherOptions {
  /** Addresses and CIDR ranges that may be reached although private or special-purpose. */
  allowedPrivateIps?: readonly string[];
  /** DNS lookup underneath the guard (tests: a fake resolver). Default `dns.lookup`. */
  lookup?: typeof dns.lookup;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Not carried to another origin by a redirect: the remote side chose where it goes. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export class RemoteFetcher {
  private readonly agent: Agent;
  private closing?: Promise<void>;

  constructor(opts: RemoteFetcherOptions = {}) {
    const allow = parseAllowList(opts.allowedPrivateIps);
    const connect = guardedConnector(allow, { timeoutMs: 10_000, lookup: opts.lookup });
    this.agent = new Agent({ connect, connectTimeout: 10_000, keepAliveTimeout: 4_000, connections: 16 });
  }

  async fetch(url: string, opts: RemoteFetchOptions): Promise<RemoteResponse> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const signal = AbortSignal.timeout(timeoutMs);
    let current = checkUrl(url, undefined, opts);
    let method: 'GET' | 'POST' = opts.method ?? 'GET';
    let body = opts.body;
    let headers: Record<string, string> = { ...opts.headers };
    for (let redirects = 0; ; redirects++) {
      const res = await this.send(current, method, headers, body, signal, timeoutMs);
      if (!REDIRECT_STATUSES.has(res.statusCode)) {
        const data = await readCapped(res, opts.maxBytes, signal);
        const type = res.headers['content-type'];
        const mimetype = typeof type === 'string' ? type.split(';')[0].trim().toLowerCase() : '';
        return { status: res.statusCode, ...(mimetype ? { mimetype } : {}), data, url: current.href };
      }
      drop(res.body);
      if (redirects >= maxRedirects) {
        throw new RemoteFetchError(
          'redirect',
          maxRedirects === 0 ? `${current.origin} answered a redirect (${res.statusCode})` : `more than ${maxRedirects} redirects`,
        );
      }
      const location = res.headers.location;
      if (typeof location !== 'string')
        throw new RemoteFetchError('redirect', `${current.origin} answered ${res.statusCode} without a Location`);
      const next = checkUrl(location, current, opts);
      if (res.statusCode === 303 || (method === 'POST' && res.statusCode !== 307 && res.statusCode !== 308)) {
        method = 'GET';
        body = undefined;
        headers = withoutHeaders(headers, (h) => h === 'content-type' || h === 'content-length');
      }
      if (next.origin !== current.origin) headers = withoutHeaders(headers, (h) => CREDENTIAL_HEADERS.has(h));
      current = next;
    }
  }

  /** Closes the connections; a second call (a bridge stopped twice) waits for the first. */
  close(): Promise<void> {
    return (this.closing ??= this.agent.close());
  }

  private async send(
    url: URL,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, {
        method,
        headers,
        ...(body ? { body } : {}),
        dispatcher: this.agent,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw classify(err, url, signal);
    }
  }
}

/** `raw` (relative to `base` for a redirect) as a URL the fetcher may request, or a `bad_url` error. */
function checkUrl(raw: string, base: URL | undefined, opts: RemoteFetchOptions): URL {
  let u: URL;
  try {
    u = new URL(raw, base);
  } catch {
    throw new RemoteFetchError('bad_url', base ? 'a redirect to an invalid URL' : 'not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RemoteFetchError('bad_url', `refusing a ${u.protocol} URL`);
  if (u.username || u.password) throw new RemoteFetchError('bad_url', 'refusing a URL with credentials');
  if (opts.allowUrl && !opts.allowUrl(u)) throw new RemoteFetchError('bad_url', `${u.origin} is not a host this request may go to`);
  return u;
}

function withoutHeaders(headers: Record<string, string>, drop: (lowerName: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop(name.toLowerCase())));
}

async function readCapped(res: Dispatcher.ResponseData, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const tooLarge = () => new RemoteFetchError('too_large', `response larger than the ${maxBytes} bytes allowed`);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    drop(res.body);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      total += b.length;
      if (total > maxBytes) {
        drop(res.body);
        throw tooLarge();
      }
      chunks.push(b);
    }
  } catch (err) {
    throw err instanceof RemoteFetchError ? err : classify(err, undefined, signal);
  }
  return Buffer.concat(chunks, total);
}

function classify(err: unknown, url: URL | undefined, signal: AbortSignal): RemoteFetchError {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } } | undefined;
  const where = url ? ` (${url.host})` : '';
  if (e?.code === 'ESSRFBLOCKED' || e?.cause?.code === 'ESSRFBLOCKED') {
    return new RemoteFetchError('forbidden_address', `${e.message ?? 'forbidden address'}; allow it with remote_fetch.allowed_private_ips`);
  }
  if (signal.aborted || e?.name === 'TimeoutError' || /Timeout/i.test(e?.code ?? '')) {
    return new RemoteFetchError('timeout', `no complete answer in time${where}`);
  }
  return new RemoteFetchError('network', `request failed${where}: ${e?.code ?? e?.message ?? String(err)}`);
}

/** Abandon a response body without an unhandled 'error' from its destruction. */
function drop(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {
    /* expected: we abandoned it */
  });
  body.destroy();
}
