// A typed client for Gitter's v1 REST API. The base URL is configuration (the public API is
// gone; any compatible deployment will do); every call sends `Authorization: Bearer`, and the
// token lives in a private field, never in a URL, a log line or an error. Each call first
// waits for the token's rate-limit window; a refusal by the rate limiter is waited out and the
// same call retried, so callers never see it. Reads (and PUT/DELETE, which are idempotent) are
// retried a few times on network and 5xx failures; a POST is not — whether it took effect is
// for the caller to find out (see findSentMessage). Calls go through the transport the bridge
// hands in (the core's HttpPool: keep-alive and lean, where fetch cost a fifth of the CPU per
// relayed message), so this layer imports no core code.
import { sleep as realSleep, type RetryDelay, type Sleep } from './sleep';
import {
  classifyStatus,
  GitterAbortedError,
  GitterEditWindowError,
  GitterError,
  GitterHttpError,
  GitterNetworkError,
  isRateLimitAnswer,
} from './errors';
import { RateLimitTracker } from './rate-limit';
import { checkGitterText } from './text-limit';
import type { GitterMessage, GitterRoom, GitterUser, HistoryQuery, SendMessageBody } from './types';

export interface GitterLog {
  debug?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

/** An HTTP answer read whole. */
export interface HttpTransportAnswer {
  status: number;
  text(): string;
  header(name: string): string | undefined;
}

/**
 * What the client sends its requests through: `path` is path and query on `origin` (the base
 * URL's); rejects on network errors (with their `code`, e.g. ECONNREFUSED), on the timeout and
 * on abort.
 */
export interface HttpTransport {
  request(req: {
    origin: string;
    method: 'GET' | 'POST' | 'PUT' | 'DELETE';
    path: string;
    headers: Record<string, string>;
    body?: string;
    timeoutMs: number;
    signal?: AbortSignal;
  }): Promise<HttpTransportAnswer>;
  /** A long-lived GET (the streaming API): resolves with status and headers; the body comes as it arrives, until `signal` aborts. */
  stream(req: {
    origin: string;
    method: 'GET';
    path: string;
    headers: Record<string, string>;
    timeoutMs: number;
    signal: AbortSignal;
  }): Promise<{
    status: number;
    header(name: string): string | undefined;
    body: AsyncIterable<Uint8Array>;
    text(): Promise<string>;
  }>;
}

export interface GitterRestClientOptions {
  /** E.g. https://api.gitter.im/v1 (no trailing slash needed). */
  baseUrl: string;
  token: string;
  http: HttpTransport;
  /** Shared with the streams of the same token; one is made if absent. */
  rateLimit?: RateLimitTracker;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Retries of idempotent calls on network and 5xx failures (default 2). */
  retries?: number;
  /** The wait before each of those retries (the bridge's backoff policy). */
  retryDelay: RetryDelay;
  sleep?: Sleep;
  log?: GitterLog;
  userAgent?: string;
}

interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

export class GitterRestClient {
  readonly baseUrl: string;
  readonly rateLimit: RateLimitTracker;
  readonly #token: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelay: RetryDelay;
  private readonly sleep: Sleep;
  private readonly log: GitterLog;
  private readonly userAgent: string | undefined;
  private readonly http: HttpTransport;
  /** Requests sent (including retries), for metrics. */
  requests = 0;

  constructor(opts: GitterRestClientOptions) {
    if (!opts.token) throw new GitterError('a Gitter token is required');
    this.baseUrl = validBaseUrl(opts.baseUrl);
    this.#token = opts.token;
    this.rateLimit = opts.rateLimit ?? new RateLimitTracker({ ...(opts.sleep ? { sleep: opts.sleep } : {}) });
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 2;
    this.retryDelay = opts.retryDelay;
    this.sleep = opts.sleep ?? realSleep;
    this.log = opts.log ?? {};
    this.userAgent = opts.userAgent;
    this.http = opts.http;
  }

  // ---- users and rooms ----------------------------------------------------------------------

  /** The token's own user. */
  async currentUser(signal?: AbortSignal): Promise<GitterUser> {
    const users = await this.request<GitterUser[]>('GET', '/user', { signal });
    if (!Array.isArray(users) || !users[0]?.id) throw new GitterHttpError('unexpected', 200, 'GET /user returned no user', 'GET', '/user');
    return users[0];
  }

  rooms(q?: string, signal?: AbortSignal): Promise<GitterRoom[]> {
    return this.request('GET', '/rooms', { query: { q }, signal });
  }

  userRooms(userId: string, signal?: AbortSignal): Promise<GitterRoom[]> {
    return this.request('GET', `/user/${seg(userId)}/rooms`, { signal });
  }

  /** A room by id. Not every server has this route; a 404 may also mean "unsupported". */
  room(roomId: string, signal?: AbortSignal): Promise<GitterRoom> {
    return this.request('GET', `/rooms/${seg(roomId)}`, { signal });
  }

  /** Joins (or looks up) a room by its URI, e.g. "acme/chat". */
  joinRoomByUri(uri: string, signal?: AbortSignal): Promise<GitterRoom> {
    return this.request('POST', '/rooms', { body: { uri }, signal });
  }

  joinRoomById(userId: string, roomId: string, signal?: AbortSignal): Promise<GitterRoom> {
    return this.request('POST', `/user/${seg(userId)}/rooms`, { body: { id: roomId }, signal });
  }

  /** Leaves (own id) or removes someone (room admins). */
  async removeUser(roomId: string, userId: string, signal?: AbortSignal): Promise<void> {
    await this.request('DELETE', `/rooms/${seg(roomId)}/users/${seg(userId)}`, { signal });
  }

  updateRoom(roomId: string, changes: { topic?: string; noindex?: boolean; tags?: string }, signal?: AbortSignal): Promise<GitterRoom> {
    return this.request('PUT', `/rooms/${seg(roomId)}`, { body: changes, signal });
  }

  members(roomId: string, query: { q?: string; skip?: number; limit?: number } = {}, signal?: AbortSignal): Promise<GitterUser[]> {
    return this.request('GET', `/rooms/${seg(roomId)}/users`, { query: { ...query }, signal });
  }

  /** Every member, paged by 100 (as the old bridge did), up to `max`. */
  async allMembers(roomId: string, max = 100_000, signal?: AbortSignal): Promise<GitterUser[]> {
    const out: GitterUser[] = [];
    for (let skip = 0; out.length < max; skip += 100) {
      const page = await this.members(roomId, { skip, limit: 100 }, signal);
      out.push(...page);
      if (page.length < 100) break;
    }
    return out.slice(0, max);
  }

  // ---- messages -----------------------------------------------------------------------------

  /** A page of history, oldest first (main line only: thread replies are left out). */
  messages(roomId: string, query: HistoryQuery = {}, signal?: AbortSignal): Promise<GitterMessage[]> {
    return this.request('GET', `/rooms/${seg(roomId)}/chatMessages`, { query: { ...query }, signal });
  }

  /**
   * Every message after `afterId`, oldest first, a page at a time (what a stream missed while
   * it was down). Stops at the first short page.
   */
  async *messagesAfter(
    roomId: string,
    afterId: string,
    opts: { pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<GitterMessage[]> {
    const limit = Math.min(100, Math.max(1, opts.pageSize ?? 100));
    let cursor = afterId;
    for (;;) {
      const page = await this.messages(roomId, { afterId: cursor, limit }, opts.signal);
      if (page.length) yield page;
      if (page.length < limit) return;
      cursor = page[page.length - 1].id;
    }
  }

  message(roomId: string, messageId: string, signal?: AbortSignal): Promise<GitterMessage> {
    return this.request('GET', `/rooms/${seg(roomId)}/chatMessages/${seg(messageId)}`, { signal });
  }

  /** Replies in a thread, oldest first (servers with threads only). */
  threadMessages(roomId: string, parentId: string, query: HistoryQuery = {}, signal?: AbortSignal): Promise<GitterMessage[]> {
    return this.request('GET', `/rooms/${seg(roomId)}/chatMessages/${seg(parentId)}/thread`, { query: { ...query }, signal });
  }

  /** Posts a message (`status: true` for an emote). The text is checked before anything is sent. */
  async sendMessage(roomId: string, body: SendMessageBody, signal?: AbortSignal): Promise<GitterMessage> {
    checkGitterText(body.text);
    return this.request('POST', `/rooms/${seg(roomId)}/chatMessages`, { body, signal });
  }

  /** Replaces a message's text. Past the edit window this throws GitterEditWindowError. */
  async editMessage(roomId: string, messageId: string, text: string, signal?: AbortSignal): Promise<GitterMessage> {
    checkGitterText(text);
    return this.request('PUT', `/rooms/${seg(roomId)}/chatMessages/${seg(messageId)}`, { body: { text }, signal });
  }

  /** Deletes a message (servers with the delete extension; others answer 404). */
  async deleteMessage(roomId: string, messageId: string, signal?: AbortSignal): Promise<void> {
    await this.request('DELETE', `/rooms/${seg(roomId)}/chatMessages/${seg(messageId)}`, { signal });
  }

  // ---- transport ----------------------------------------------------------------------------

  /** Opens the streaming API at `url` (an absolute URL) with this token; see RoomStream. */
  openStream(url: string, signal: AbortSignal): ReturnType<HttpTransport['stream']> {
    const u = new URL(url);
    return this.http.stream({
      origin: u.origin,
      method: 'GET',
      path: u.pathname + u.search,
      headers: this.authHeaders(),
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  /** The headers every call sends; for the streaming client of the same token. */
  authHeaders(): Record<string, string> {
    return {
      Authorization: `Bearer ${this.#token}`,
      Accept: 'application/json',
      ...(this.userAgent ? { 'User-Agent': this.userAgent } : {}),
    };
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const target = url.pathname + url.search;
    const idempotent = method !== 'POST';
    const headers: Record<string, string> = this.authHeaders();
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new GitterAbortedError(`Gitter ${method} ${path}: aborted`);
      await this.rateLimit.acquire(opts.signal).catch((err) => {
        throw err instanceof GitterAbortedError ? new GitterAbortedError(`Gitter ${method} ${path}: aborted`) : err;
      });
      let answer: HttpTransportAnswer;
      this.requests++;
      try {
        answer = await this.http.request({
          origin: url.origin,
          method,
          path: target,
          headers,
          ...(body !== undefined ? { body } : {}),
          timeoutMs: this.timeoutMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (err) {
        if (opts.signal?.aborted) throw new GitterAbortedError(`Gitter ${method} ${path}: aborted`);
        const refused = connectionRefused(err);
        if (idempotent && failures < this.retries) {
          failures++;
          this.log.debug?.('Gitter request failed, retrying', { method, path, attempt: failures });
          await this.sleep(this.retryDelay(failures), opts.signal);
          continue;
        }
        throw new GitterNetworkError(method, path, !refused, err);
      }
      const res = {
        status: answer.status,
        ok: answer.status >= 200 && answer.status < 300,
        headers: { get: (n: string) => answer.header(n) ?? null },
      };
      const text = answer.text();
      this.rateLimit.update(res.headers);
      if (res.ok) return parseJson<T>(text, res.status, method, path);
      const serverMessage = errorText(text);
      if (isRateLimitAnswer(res.status, serverMessage)) {
        this.rateLimit.refused(res.headers);
        this.log.warn?.('Gitter rate limit reached; waiting for the window to end', {
          method,
          path,
          status: res.status,
          waitMs: this.rateLimit.delayMs(),
        });
        continue;
      }
      const kind = classifyStatus(res.status);
      if (kind === 'server' && idempotent && failures < this.retries) {
        failures++;
        await this.sleep(this.retryDelay(failures), opts.signal);
        continue;
      }
      if (kind === 'bad_request' && method === 'PUT' && /\/chatMessages\//.test(path)) {
        // The text was checked before sending, so a 400 on an edit is the edit window (Gitter
        // says "You can no longer edit this message").
        throw new GitterEditWindowError('edit_window', res.status, serverMessage, method, path);
      }
      throw new GitterHttpError(kind, res.status, serverMessage, method, path);
    }
  }
}

/** An invalid base URL names the problem (it comes from configuration). */
function validBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new GitterError(`Gitter base URL ${JSON.stringify(raw)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new GitterError(`Gitter base URL ${JSON.stringify(raw)} must be http(s)`);
  if (u.username || u.password || u.search || u.hash)
    throw new GitterError('Gitter base URL must not carry credentials, a query or a fragment');
  return u.toString().replace(/\/+$/, '');
}

function seg(id: string): string {
  return encodeURIComponent(id);
}

function parseJson<T>(text: string, status: number, method: string, path: string): T {
  if (status === 204 || text.trim() === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new GitterHttpError('unexpected', status, 'the answer is not JSON', method, path);
  }
}

function errorText(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200);
}

/** The server certainly did nothing: the connection was never made. */
function connectionRefused(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
