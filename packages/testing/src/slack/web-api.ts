// The Web API front: `POST /api/<method>` (GET with a query string too). Pipeline: parse the
// body (form, JSON, multipart) → known method? → token (Bearer, or a form field where allowed)
// → token type allowed → injected fault → scope → per-method rate limit → handler. Logical
// errors are HTTP 200 `{"ok":false,"error":…}`; a rate limit is HTTP 429 with Retry-After. Every
// call is logged with its arguments and answer (never its token) for specs to inspect.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiArgs } from './args';
import { parseBody, type ParsedBody } from './body';
import type { Actor } from './actor';
import { tokenActor } from './actor';
import type { Json } from './deliveries';
import { SlackApiError } from './errors';
import type { Faults, WebFault } from './faults';
import type { Conversation } from './model';
import type { RateLimiter } from './rate-limits';
import { METHODS, scopeAlternatives, scopeFor, type MethodSpec } from './scopes';
import type { Services } from './services';
import { authenticate, requestToken, type TokenRecord } from './tokens';

export interface MethodContext {
  method: string;
  spec: MethodSpec;
  args: ApiArgs;
  body: ParsedBody;
  req: IncomingMessage;
  /** The caller's token (absent only for methods called without one). */
  token: TokenRecord;
  services: Services;
  /** The caller acting: its bot user, or the user of a user token. */
  actor(): Actor;
  /** `missing_scope` unless the token holds the scope this method needs on this conversation. */
  checkScope(conv: Conversation): void;
  warn(warning: string): void;
}

export type MethodHandler = (ctx: MethodContext) => Json | Promise<Json>;

export interface CallRecord {
  method: string;
  at: number;
  bodyKind: ParsedBody['kind'];
  tokenKind?: TokenRecord['kind'];
  appId?: string;
  teamId?: string;
  /** The bot user or the user whose token was used. */
  userId?: string;
  /** Arguments as received, without tokens and client secrets; binary parts as `{ filename, size }`. */
  args: Json;
  status: number;
  ok: boolean;
  error?: string;
  /** The answer, issued tokens redacted. */
  response: Json;
}

export class WebApi {
  readonly calls: CallRecord[] = [];
  /** Exceptions from handlers (emulator bugs), answered HTTP 500. */
  readonly internalErrors: Error[] = [];

  constructor(
    private services: Services,
    private handlers: Readonly<Record<string, MethodHandler>>,
    private limiter: RateLimiter,
    private faults: Faults,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, method: string, raw: Buffer, query: URLSearchParams): Promise<void> {
    const record: CallRecord = { method, at: Date.now(), bodyKind: 'empty', args: {}, status: 200, ok: false, response: {} };
    const warnings: string[] = [];
    const headers: Record<string, string> = {};
    let body: ParsedBody | undefined;
    try {
      body = parseBody(req.headers['content-type'], raw, query);
      record.bodyKind = body.kind;
      record.args = loggedArgs(body);
      if (body.missingCharset) warnings.push('missing_charset');
      const spec = METHODS[method];
      const handler = this.handlers[method];
      if (!spec || !handler) throw new SlackApiError('unknown_method', { req_method: method });
      let token: TokenRecord | undefined;
      if (!spec.noToken) {
        const given = requestToken(req, body.fields, !spec.headerTokenOnly && body.kind !== 'json');
        token = authenticate(this.services.state.tokens, given).record;
        Object.assign(record, { tokenKind: token.kind, appId: token.appId, teamId: token.teamId, userId: token.userId });
        if (!(token.kind in spec.tokens)) throw new SlackApiError('not_allowed_token_type');
      }
      const fault = this.faults.takeWebFault({
        method,
        appId: token?.appId,
        teamId: token?.teamId,
        userId: token?.userId,
        tokenKind: token?.kind,
      });
      if (fault && fault.kind !== 'lost-answer' && this.applyFault(fault, req, res, record)) return;
      const need = token ? spec.tokens[token.kind] : undefined;
      const accepted = scopeAlternatives(need);
      if (token) {
        headers['x-oauth-scopes'] = [...token.scopes].join(',');
        if (accepted.length) headers['x-accepted-oauth-scopes'] = accepted.join(',');
        if (accepted.length && !accepted.some((s) => token.scopes.has(s))) {
          throw new SlackApiError('missing_scope', { needed: accepted.join(','), provided: [...token.scopes].join(',') });
        }
      }
      const args = new ApiArgs(body.fields, body.files);
      const rateKey = token ? `${token.appId}|${token.teamId ?? ''}` : `client|${args.str('client_id') ?? ''}`;
      const channelKey = spec.tier === 'post' ? `|${args.str('channel') ?? ''}` : '';
      const retryAfter = this.limiter.take(method, spec.tier, rateKey + channelKey);
      if (retryAfter > 0) {
        this.rateLimited(res, record, retryAfter);
        return;
      }
      const services = this.services;
      const ctx: MethodContext = {
        method,
        spec,
        args,
        body,
        req,
        services,
        token: token as TokenRecord,
        actor: () => tokenActor(services.state, token as TokenRecord),
        checkScope: (conv) => {
          if (!token) return;
          const scope = scopeFor(need, conv.kind);
          if (need && !scope) throw new SlackApiError('method_not_supported_for_channel_type');
          if (scope && !token.scopes.has(scope))
            throw new SlackApiError('missing_scope', { needed: scope, provided: [...token.scopes].join(',') });
        },
        warn: (w) => warnings.push(w),
      };
      const result = await handler(ctx);
      if (fault?.kind === 'lost-answer') {
        record.status = 0;
        record.error = 'connection_reset_after_effect';
        this.calls.push(record);
        req.socket.destroy();
        return;
      }
      this.reply(res, record, 200, withWarnings({ ok: true, ...result }, warnings), headers);
    } catch (err) {
      if (err instanceof SlackApiError) {
        this.reply(res, record, 200, withWarnings({ ok: false, error: err.code, ...err.extra }, warnings), headers);
        return;
      }
      const e = err instanceof Error ? err : new Error(String(err));
      this.internalErrors.push(e);
      this.reply(res, record, 500, { ok: false, error: 'internal_error', detail: e.message }, {});
    }
  }

  private rateLimited(res: ServerResponse, record: CallRecord, retryAfter: number): void {
    this.reply(res, record, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
  }

  /** Answers true when the fault produced the answer. */
  private applyFault(f: WebFault, req: IncomingMessage, res: ServerResponse, record: CallRecord): boolean {
    switch (f.kind) {
      case 'ratelimited':
        this.rateLimited(res, record, f.retryAfter);
        return true;
      case 'error':
        throw new SlackApiError(f.error, f.extra);
      case 'http': {
        record.status = f.status;
        record.error = `http_${f.status}`;
        this.calls.push(record);
        const text = f.body ?? `<html><body>Slack is having trouble (${f.status})</body></html>`;
        res.writeHead(f.status, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text);
        return true;
      }
      case 'lost-answer':
        return false;
      case 'reset':
        record.status = 0;
        record.error = 'connection_reset';
        this.calls.push(record);
        req.socket.destroy();
        return true;
    }
  }

  private reply(res: ServerResponse, record: CallRecord, status: number, body: Json, headers: Record<string, string>): void {
    record.status = status;
    record.ok = body.ok === true;
    record.error = typeof body.error === 'string' ? body.error : undefined;
    record.response = redactTokens(body) as Json;
    this.calls.push(record);
    if (res.headersSent || res.destroyed) return;
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(data.length),
      'x-slack-req-id': record.at.toString(36),
      ...headers,
    });
    res.end(data);
  }
}

function withWarnings(body: Json, warnings: string[]): Json {
  if (!warnings.length) return body;
  const meta = (body.response_metadata as Json | undefined) ?? {};
  return { ...body, warning: warnings.join(','), response_metadata: { ...meta, warnings } };
}

/** Credentials never enter the call log. */
const SECRET_ARGS = new Set(['token', 'client_secret', 'refresh_token', 'code_verifier']);

/** A copy of an answer with issued tokens (oauth.v2.access) replaced. */
function redactTokens(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactTokens);
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === 'access_token' || k === 'refresh_token' ? '[redacted]' : redactTokens(v);
  return out;
}

function loggedArgs(body: ParsedBody): Json {
  const args: Json = {};
  for (const [k, v] of Object.entries(body.fields)) if (!SECRET_ARGS.has(k)) args[k] = v;
  for (const f of body.files) args[f.field] = { filename: f.filename, size: f.data.length };
  return args;
}
