// Types shared by the HTTP layer and the route modules: the per-request context,
// the authenticated requester, reply helpers, and the route-definition shape.
import type { IncomingHttpHeaders } from 'node:http';
import type { Appservice } from './appservices';
import { MatrixError } from './errors';

export interface Requester {
  userId: string;
  deviceId?: string;
  /** Set when authenticated with an as_token (acting as the bot or an asserted ghost). */
  appservice?: Appservice;
  accessToken: string;
  /** Request came from a TestUser helper (exempt from faults, counted separately). */
  fromTestClient: boolean;
}

export class Ctx {
  requesterOrUndefined?: Requester;
  /** The request's JSON object (`{}` when the route reads no JSON body). */
  body: Record<string, unknown> = {};
  raw: Buffer = Buffer.alloc(0);
  /** Size of the request body in bytes (for the 64 KiB event size limit). */
  bodyLength = 0;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly key: string,
    readonly params: Record<string, string>,
    readonly query: URLSearchParams,
    readonly headers: IncomingHttpHeaders,
  ) {}

  /** The authenticated user; only valid on routes declared with auth. */
  get requester(): Requester {
    if (!this.requesterOrUndefined) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    return this.requesterOrUndefined;
  }

  get userId(): string {
    return this.requester.userId;
  }
}

/** A JSON reply with a non-200 status or extra headers. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Raw bytes (media downloads). */
export class RawReply {
  constructor(
    readonly data: Buffer,
    readonly contentType: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** A route handler: answers with a value, or a promise of one. */
export type Handler = (ctx: Ctx) => unknown;

export interface RouteOptions {
  /** 'user' (default): access token required; 'none': public; 'optional': use it when present. */
  auth?: 'user' | 'none' | 'optional';
  /** 'json' (default for PUT/POST): parse as a JSON object; 'raw': keep bytes; 'none': ignore. */
  body?: 'json' | 'raw' | 'none';
  /** An empty body is M_NOT_JSON (Synapse's parse_json_object_from_request without allow_empty_body). */
  bodyRequired?: boolean;
  /** Subject to per-user rate limiting when that is enabled. */
  rateLimited?: boolean;
  /**
   * Honour `?user_id=` identity assertion (default true). Registration and login
   * authenticate the appservice itself, as Synapse's get_appservice_by_req does.
   */
  identityAssertion?: boolean;
}

export interface RouteDef extends RouteOptions {
  method: string;
  paths: string[];
  key: string;
  handler: Handler;
}

import { CLIENT_PREFIXES } from './router';

/**
 * A client-server route, served under every client prefix (v3, r0, v1, unstable).
 * The first template gives the endpoint key; extra templates are aliases (e.g. the
 * variant without a trailing `{stateKey}`).
 */
export function clientRoute(method: string, templates: string | string[], opts: RouteOptions, handler: Handler): RouteDef {
  const list = Array.isArray(templates) ? templates : [templates];
  const paths: string[] = [];
  for (const t of list) for (const p of CLIENT_PREFIXES) paths.push(p + t);
  return { method, paths, key: `${method} ${list[0]}`, handler, ...opts };
}

/** A route outside the client API (media, federation); key uses the first full path. */
export function fullRoute(method: string, paths: string[], opts: RouteOptions, handler: Handler): RouteDef {
  return { method, paths, key: `${method} ${paths[0]}`, handler, ...opts };
}
