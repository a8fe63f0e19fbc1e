/**
 * The appservice listener: the HTTP server the homeserver pushes to.
 *
 * - Every request is authenticated with the hs_token (Bearer header or the
 *   legacy `access_token` query parameter; both must agree when both are
 *   present), compared in constant time: none → 401 `M_UNAUTHORIZED`,
 *   wrong → 403 `M_FORBIDDEN`. Extra routes added with `addRoute` are
 *   authenticated the same way unless registered with `{public: true}`.
 *   Unauthenticated requests learn nothing about which paths exist, and their
 *   bodies are not read: the answer closes the connection (util/http-answer.ts).
 * - Unknown path → 404 `M_UNRECOGNIZED`; known path, wrong method → 405.
 * - Transactions: the body is read (bounded), parsed, shape-checked and
 *   handed to the TransactionSink, and 200 is sent only once the sink says the
 *   events are durably queued. A retry (a known txnId with the same events) is
 *   answered 200 without processing; a known txnId with other events is a new
 *   transaction (see seen-transactions.ts).
 *   Nothing is processed when the body is malformed (400 `M_NOT_JSON` /
 *   `M_BAD_JSON`) or too large (413 `M_TOO_LARGE`).
 * - Tokens are never logged; each request has an ID that its log lines carry.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MatrixError } from '../util/matrix-error';
import { answerStarted, sendError, sendJson } from '../util/http-answer';
import { getLogger, registerSecret, type Logger } from '../logging/logger';
import { unavailableStateAnswer } from '../state/not-in-room';
import { hsTokenChecker } from './auth';
import { DEFAULT_MAX_BODY_BYTES, continueWhenRead, parseJson, readBody } from './body';
import { Router } from './router';
import { transactionShapeError, type TransactionBody, type TransactionSink } from './transaction';
import type { RouteResponse, RouteContext, RouteHandler, RouteOptions } from '../connector/routes';

const APP_V1 = '/_matrix/app/v1';
const APP_UNSTABLE = '/_matrix/app/unstable';

export { type RouteResponse, type RouteContext, type RouteHandler, type RouteOptions };

/** Field values from the query string (everything but `access_token`). */
type ThirdPartyFields = Record<string, string>;

/**
 * Third-party lookups. A missing method, `undefined` or an empty array is
 * answered 404 `M_NOT_FOUND`.
 */
interface ThirdPartyHandlers {
  protocol?(protocol: string): Promise<Record<string, unknown> | undefined>;
  locations?(protocol: string, fields: ThirdPartyFields): Promise<unknown[] | undefined>;
  users?(protocol: string, fields: ThirdPartyFields): Promise<unknown[] | undefined>;
  locationsByAlias?(alias: string): Promise<unknown[] | undefined>;
  usersByUserId?(userId: string): Promise<unknown[] | undefined>;
}

export interface AppserviceHandlers {
  /** Create the namespaced user if it should exist; true → 200, false → 404. */
  onUserQuery(userId: string): Promise<boolean>;
  /** Create the room + alias if it should exist; true → 200, false → 404. */
  onAliasQuery(alias: string): Promise<boolean>;
  thirdParty?: ThirdPartyHandlers;
  /** Called on `POST /ping` with the body's `transaction_id`, if any. */
  onPing?(transactionId: string | undefined): void | Promise<void>;
}

export interface AppserviceServerOptions {
  hsToken: string;
  handlers: AppserviceHandlers;
  transactions: TransactionSink;
  /** Largest accepted request body, bytes. Default 10 MiB. */
  maxBodyBytes?: number;
  /**
   * How long a transaction may wait for back-pressure to ease before it is
   * answered 429 `M_LIMIT_EXCEEDED` (the homeserver backs off and resends the
   * same txnId). Default 30 s, below typical homeserver request timeouts.
   */
  backpressureTimeoutMs?: number;
  /** Keep-alive idle timeout for homeserver connections, ms. Default 65 s. */
  keepAliveTimeoutMs?: number;
  log?: Logger;
}

interface InternalRoute {
  handler: RouteHandler;
  public: boolean;
}

const EMPTY_OBJECT = Buffer.from('{}');
/** Headers of the plain 200 `{}` answer (every transaction): a fixed length, so no chunked framing. */
const EMPTY_OBJECT_HEADERS = { 'Content-Type': 'application/json', 'Content-Length': String(EMPTY_OBJECT.length) } as const;

let requestCounter = 0;
const REQUEST_PREFIX = Math.floor(Math.random() * 0xffffff).toString(36);

function nextRequestId(): string {
  return `${REQUEST_PREFIX}-${(++requestCounter).toString(36)}`;
}

class Ctx implements RouteContext {
  private _log?: Logger;
  private _query?: URLSearchParams;
  private _requestId?: string;
  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly params: Record<string, string>,
    private readonly qs: string,
    private readonly baseLog: Logger,
    private readonly maxBody: number,
  ) {}
  /** Assigned on first use (most requests never log). */
  get requestId(): string {
    return (this._requestId ??= nextRequestId());
  }
  get log(): Logger {
    return (this._log ??= this.baseLog.child({ requestId: this.requestId }));
  }
  get query(): URLSearchParams {
    if (!this._query) {
      this._query = new URLSearchParams(this.qs);
      this._query.delete('access_token');
    }
    return this._query;
  }
  readBody(): Promise<Buffer> {
    return readBody(this.req, this.maxBody);
  }
  async readJson(): Promise<unknown> {
    return parseJson(await this.readBody());
  }
}

export class AppserviceServer {
  readonly httpServer: http.Server;
  private readonly router = new Router<InternalRoute>();
  private readonly checkToken: ReturnType<typeof hsTokenChecker>;
  private readonly handlers: AppserviceHandlers;
  private readonly sink: TransactionSink;
  private readonly maxBody: number;
  private readonly bpTimeout: number;
  private readonly log: Logger;

  private readonly mounts: Array<(req: http.IncomingMessage, res: http.ServerResponse) => boolean> = [];

  constructor(opts: AppserviceServerOptions) {
    if (!opts.hsToken) throw new Error('hs_token is required');
    registerSecret(opts.hsToken);
    this.checkToken = hsTokenChecker(opts.hsToken);
    this.handlers = opts.handlers;
    this.sink = opts.transactions;
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.bpTimeout = opts.backpressureTimeoutMs ?? 30_000;
    this.log = opts.log ?? getLogger('appservice');
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    this.httpServer = http.createServer(listener);
    continueWhenRead(this.httpServer, listener);
    this.httpServer.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 65_000;
    this.registerBuiltins();
  }

  /**
   * Serve an extra route on the appservice port. Patterns are paths with
   * `:name` segments, e.g. `/_causeway/provision/v1/rooms/:roomId`.
   * Authenticated with the hs_token unless `{public: true}`.
   */
  addRoute(method: string, pathPattern: string, handler: RouteHandler, opts: RouteOptions = {}): void {
    this.router.add(method, pathPattern, { handler, public: opts.public === true });
  }

  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.httpServer.once('error', onError);
      this.httpServer.listen(port, host, () => {
        this.httpServer.removeListener('error', onError);
        const addr = this.httpServer.address() as AddressInfo;
        this.log.info('Appservice listener ready', { host: addr.address, port: addr.port });
        resolve(addr);
      });
    });
  }

  /** Stop listening and close idle keep-alive connections; resolves when closed. */
  /**
   * Stop listening. Requests in progress get `graceMs` to finish; after that
   * their sockets are closed. That is safe: a transaction is acknowledged only
   * after it is journaled, so one cut short is simply resent by the homeserver.
   */
  close(graceMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.httpServer.listening) return resolve();
      const force = setTimeout(() => this.httpServer.closeAllConnections(), graceMs);
      force.unref();
      this.httpServer.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.httpServer.closeIdleConnections();
    });
  }

  /** The request listener, usable to mount the appservice inside another server. */
  /**
   * Mount a sub-API that authenticates its own requests (the provisioning API:
   * shared secret or OpenID sessions). It sees each request first and returns
   * true when the path is its own; everything else keeps hs_token auth.
   */
  mount(handler: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): void {
    this.mounts.push(handler);
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const mount of this.mounts) if (mount(req, res)) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const qs = q === -1 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    const match = this.router.match(method, path);
    const route = match?.handler;

    if (!route || !route.public) {
      let queryToken: string | undefined;
      if (qs !== '' && qs.includes('access_token')) queryToken = new URLSearchParams(qs).get('access_token') ?? undefined;
      const auth = this.checkToken(req, queryToken);
      if (auth !== 'ok') {
        const err =
          auth === 'missing'
            ? new MatrixError(401, 'M_UNAUTHORIZED', 'Missing hs_token')
            : new MatrixError(403, 'M_FORBIDDEN', 'Bad hs_token');
        this.log
          .child({ requestId: nextRequestId() })
          .warn('Rejected homeserver request', { method, path: safePath(path), status: err.status });
        return sendError(req, res, err);
      }
    }
    if (!match) return sendError(req, res, new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request'));
    if (!route) {
      return sendError(req, res, new MatrixError(405, 'M_UNRECOGNIZED', 'Unrecognized request method'), {
        Allow: match.allowed.join(', '),
      });
    }
    const ctx = new Ctx(req, res, match.params, qs, this.log, this.maxBody);
    let result: Promise<RouteResponse | void> | RouteResponse | void;
    try {
      result = route.handler(ctx);
    } catch (err) {
      return this.fail(ctx, err);
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<RouteResponse | void>).then(
        (r) => this.respond(ctx, r),
        (err) => this.fail(ctx, err),
      );
    } else {
      this.respond(ctx, result as RouteResponse | void);
    }
  }

  private respond(ctx: Ctx, r: RouteResponse | void): void {
    const res = ctx.res;
    // The handler answered (or is streaming) itself.
    if (res.writableEnded || res.headersSent) return;
    if (!r && !answerStarted(res)) {
      res.writeHead(200, EMPTY_OBJECT_HEADERS);
      res.end(EMPTY_OBJECT);
      return;
    }
    sendJson(ctx.req, res, r?.status ?? 200, r?.body, r?.headers);
  }

  /** A handler failed: answer its error, or cut the connection if it had begun answering (sendError). */
  private fail(ctx: Ctx, err: unknown): void {
    const answer = err instanceof MatrixError ? err : unavailableStateAnswer(err);
    if (answer) {
      if (answer.status >= 500)
        ctx.log.error('Request failed', { path: safePath(ctx.req.url ?? ''), errcode: answer.errcode, error: answer.message });
      else if (ctx.log.isLevelEnabled('debug'))
        ctx.log.debug('Request refused', { path: safePath(ctx.req.url ?? ''), status: answer.status, errcode: answer.errcode });
      return sendError(ctx.req, ctx.res, answer);
    }
    ctx.log.error('Request handler threw', { path: safePath(ctx.req.url ?? ''), error: err instanceof Error ? err : String(err) });
    sendError(ctx.req, ctx.res, new MatrixError(500, 'M_UNKNOWN', 'Internal error'));
  }

  // ---- built-in homeserver routes ----

  private registerBuiltins(): void {
    const txn: RouteHandler = (ctx) => this.onTransaction(ctx);
    const user: RouteHandler = async (ctx) => {
      if (!(await this.handlers.onUserQuery(ctx.params.userId))) throw notFound('User not found');
    };
    const alias: RouteHandler = async (ctx) => {
      if (!(await this.handlers.onAliasQuery(ctx.params.alias))) throw notFound('Alias not found');
    };
    for (const prefix of [APP_V1, '']) {
      this.addRoute('PUT', `${prefix}/transactions/:txnId`, txn);
      this.addRoute('GET', `${prefix}/users/:userId`, user);
      this.addRoute('GET', `${prefix}/rooms/:alias`, alias);
    }
    this.addRoute('POST', `${APP_V1}/ping`, async (ctx) => {
      const raw = await ctx.readBody();
      let id: string | undefined;
      if (raw.length) {
        const body = parseJson(raw) as { transaction_id?: unknown } | null;
        if (body && typeof body === 'object' && typeof body.transaction_id === 'string') id = body.transaction_id;
      }
      await this.handlers.onPing?.(id);
    });

    const tp = (): ThirdPartyHandlers => this.handlers.thirdParty ?? {};
    const list = (v: unknown[] | undefined, what: string): RouteResponse => {
      if (!v || v.length === 0) throw notFound(`No ${what} found`);
      return { body: v };
    };
    for (const prefix of [APP_V1, APP_UNSTABLE]) {
      this.addRoute('GET', `${prefix}/thirdparty/protocol/:protocol`, async (ctx) => {
        const p = await tp().protocol?.(ctx.params.protocol);
        if (!p) throw notFound('Unknown protocol');
        return { body: p };
      });
      this.addRoute('GET', `${prefix}/thirdparty/location/:protocol`, async (ctx) =>
        list(await tp().locations?.(ctx.params.protocol, fields(ctx.query)), 'locations'),
      );
      this.addRoute('GET', `${prefix}/thirdparty/user/:protocol`, async (ctx) =>
        list(await tp().users?.(ctx.params.protocol, fields(ctx.query)), 'users'),
      );
      this.addRoute('GET', `${prefix}/thirdparty/location`, async (ctx) => {
        const a = ctx.query.get('alias');
        if (!a) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing "alias"');
        return list(await tp().locationsByAlias?.(a), 'locations');
      });
      this.addRoute('GET', `${prefix}/thirdparty/user`, async (ctx) => {
        const u = ctx.query.get('userid');
        if (!u) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing "userid"');
        return list(await tp().usersByUserId?.(u), 'users');
      });
    }
  }

  private async onTransaction(ctx: RouteContext): Promise<void> {
    const txnId = ctx.params.txnId;
    const sink = this.sink;
    let parsed: { raw: Buffer; body: TransactionBody } | undefined;
    if (sink.knows(txnId)) {
      // A retry, or a new transaction under a reused txnId (homeservers restart their
      // numbering): only the events tell. Read before back-pressure, so a retry is answered at once.
      parsed = await this.readTransaction(ctx);
      const retry = sink.retry(txnId, parsed.body);
      if (retry) {
        await retry;
        if (ctx.log.isLevelEnabled('debug')) ctx.log.debug('Duplicate transaction acknowledged', { txnId });
        return;
      }
    }
    const admission = sink.admit();
    try {
      if (admission.ready) await this.waitForCapacity(ctx, admission.ready);
      const { raw, body } = parsed ?? (await this.readTransaction(ctx));
      const accepted = sink.accept(txnId, body, raw);
      admission.release();
      await accepted;
    } finally {
      admission.release();
    }
  }

  private async readTransaction(ctx: RouteContext): Promise<{ raw: Buffer; body: TransactionBody }> {
    const raw = await ctx.readBody();
    const body = parseJson(raw);
    const shape = transactionShapeError(body);
    if (shape) throw new MatrixError(400, 'M_BAD_JSON', shape);
    return { raw, body: body as TransactionBody };
  }

  private waitForCapacity(ctx: RouteContext, ready: Promise<void>): Promise<void> {
    ctx.log.debug('Transaction held by back-pressure', { txnId: ctx.params.txnId });
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Bridge is catching up; retry later', { retry_after_ms: 5000 }));
      }, this.bpTimeout);
      ready.then(
        () => {
          clearTimeout(t);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(t);
          reject(err);
        },
      );
    });
  }
}

function notFound(msg: string): MatrixError {
  return new MatrixError(404, 'M_NOT_FOUND', msg);
}

function fields(q: URLSearchParams): ThirdPartyFields {
  const out: ThirdPartyFields = {};
  for (const [k, v] of q) out[k] = v;
  return out;
}

/** A path for logs: never the query string (it may hold the token). */
function safePath(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
