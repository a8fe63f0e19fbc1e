/**
 * HTTP routes a connector may add, and what their handlers receive. Two kinds:
 *
 * - Provisioning routes (`ctx.provisioning.addRoute`, `addLinkRoutes`): below the provisioning
 *   prefix, always authenticated (shared secret or OpenID session), rate-limited, body-validated
 *   and optionally audited by the core (see provisioning/api.ts for the request pipeline).
 * - Appservice routes (`ctx.http.addRoute`): on the appservice port, authenticated with the
 *   hs_token unless declared `public: true` by name (e.g. a webhook that checks its own signature).
 */
import type * as http from 'node:http';
import type { Logger } from '../logging/logger';

// ---- appservice routes ---------------------------------------------------------------

/** Result a route handler may return instead of writing `res` itself. */
export interface RouteResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteContext {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Percent-decoded `:name` captures of the pattern. */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters (the `access_token` parameter is removed). */
  readonly query: URLSearchParams;
  readonly requestId: string;
  /** Logger carrying the request ID. */
  readonly log: Logger;
  /** The body, bounded by the server's limit (413 `M_TOO_LARGE` beyond). */
  readBody(): Promise<Buffer>;
  /** The body parsed as JSON (400 `M_NOT_JSON` if it is not). */
  readJson(): Promise<unknown>;
}

/**
 * A route handler. Return a RouteResponse (or nothing for 200 `{}`), throw a
 * MatrixError for an error answer, or write `ctx.res` directly (streaming).
 */
export type RouteHandler = (ctx: RouteContext) => Promise<RouteResponse | void> | RouteResponse | void;

export interface RouteOptions {
  /** Skip the hs_token check (default false: routes are authenticated). */
  public?: boolean;
}

// ---- provisioning routes -------------------------------------------------------------

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A JSON Schema (TypeBox or plain object). */
export type JsonSchema = object;

/** What an OpenID exchange left: a provisioning session (its token is never kept). */
export interface ProvisioningSessionRecord {
  userId: string;
  createdAt: number;
  expiresAt: number;
}

export interface ProvisioningSession extends ProvisioningSessionRecord {
  /** SHA-256 of the token, hex: the session's ID (safe to log). */
  id: string;
}

interface BaseRequest {
  /** JSON body (an object; `{}` when there is none). `user_id`/`userId` are removed. */
  body: Record<string, unknown>;
  /** Query parameters, first value of each. `user_id`/`userId` are removed. */
  query: Record<string, string>;
  /** Percent-decoded path captures (`{roomId}` / `:roomId`). */
  params: Record<string, string>;
  /** Client IP (from X-Forwarded-For only when the peer is a trusted proxy). */
  ip: string;
  requestId: string;
  log: Logger;
}

export type PublicRequest = BaseRequest;

export interface ProvisioningRequest extends BaseRequest {
  /** The Matrix user the request acts for. */
  userId: string;
  /** How the caller authenticated. */
  auth: 'secret' | 'session';
  /** The session (auth `session` only). */
  session?: ProvisioningSession;
}

/** Return this from a handler to choose the status code (default: 200 with the returned value, `{}` for undefined). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown = {},
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface RouteDefinition {
  method: HttpMethod;
  /** Path below the prefix, e.g. `/v1/link`, `/v1/links/{roomId}` (or `:roomId`). */
  path: string;
  /** JSON Schema (TypeBox or plain) of the body for POST/PUT/PATCH, of the query for GET/DELETE. */
  schema?: JsonSchema;
  /** Explicit query schema (values are coerced from strings), in addition to `schema`. */
  querySchema?: JsonSchema;
  handler(req: ProvisioningRequest): Promise<unknown>;
  /** Return the room ID whose power levels the acting user must satisfy. */
  requiresRoomPower?: (req: ProvisioningRequest) => string;
  /**
   * The errcode of the 403 when the acting user's level is too low (default `M_FORBIDDEN`), for
   * routes that keep an older API's codes that clients check (MAI's `IRC_NOT_ENOUGH_POWER`).
   */
  powerErrcode?: string;
  /** Return the room ID the acting user must be joined to (no level check). */
  requiresRoomMembership?: (req: ProvisioningRequest) => string;
  /** Network-side check run after the power check; throw a MatrixError to refuse. */
  authorize?: (req: ProvisioningRequest) => Promise<void>;
  /** Write an audit line per request (link/unlink-type routes). */
  audit?: boolean;
}

/**
 * The standard link/unlink/list routes (`addLinkRoutes`), so every bridge gets the same
 * semantics; see provisioning/link-routes.ts.
 */
export interface LinkHooks {
  link(roomId: string, userId: string, body: Record<string, unknown>, req: ProvisioningRequest): Promise<unknown>;
  unlink(roomId: string, userId: string, body: Record<string, unknown>, req: ProvisioningRequest): Promise<unknown>;
  list(roomId: string, req: ProvisioningRequest): Promise<unknown[]>;
  /** Extra body schema for link (e.g. the remote channel), checked with the core's. */
  linkSchema?: JsonSchema;
  /** Extra body schema for unlink. */
  unlinkSchema?: JsonSchema;
  /** Network-side permission check before link/unlink (after the room power check). */
  authorize?(action: 'link' | 'unlink', req: ProvisioningRequest): Promise<void>;
}
