/**
 * OpenID token verification: a Matrix user proves who they are by handing the
 * bridge an OpenID token from their homeserver; the bridge asks that server's
 * federation API (`GET /_matrix/federation/v1/openid/userinfo`) whom the token
 * belongs to, and accepts the answer only for a user on exactly that server.
 *
 * Where the lookup goes:
 * - for the bridge's own homeserver (`homeserver.domain`), to `homeserver.url`:
 *   the operator configured that URL and the bridge already trusts it with its
 *   as_token, so it is used as it is, http or https, loopback or LAN. Synapse
 *   serves the userinfo endpoint on its client listener, and a homeserver that
 *   does not federate has no other (so `https://<domain>:8448` would fail);
 * - for a server named in `provisioning.openid.overrides`, to the base URL the
 *   operator gave for it (matrix-appservice-bridge's `openIdOverride`), trusted
 *   the same way;
 * - for every other server, to its federation API found by server discovery,
 *   and that request goes to a host the caller chose, so it is guarded:
 *   - the address checked is the one the socket connects to: a `lookup` that
 *     filters resolved addresses, a direct check of IP-literal hosts, and a
 *     re-check of the connected socket's peer address (no DNS-rebinding gap);
 *   - private, loopback, link-local and other special-purpose addresses are
 *     refused unless in the operator's allow-list (`provisioning.openid.allowed_ips`);
 *   - only https (http only when `allowHttp`, for tests).
 * Every lookup: redirects are never followed (a 3xx is an error); the whole
 * exchange has a timeout and the response body a size cap.
 */
import * as dns from 'node:dns';
import { Agent, request, type Dispatcher } from 'undici';
import { getLogger, type Logger } from '../logging/logger';
import { guardedConnector } from '../net/guarded-connector';
import { ForbiddenAddressError, parseAllowList, type AllowList } from '../net/ssrf-guard';
import { isValidUserId, parseServerName, userIdServer, type ParsedServerName } from './validation';

export type OpenIdFailure =
  | 'bad_server_name'
  | 'forbidden_address'
  | 'redirect'
  | 'timeout'
  | 'too_large'
  | 'network'
  | 'bad_response'
  | 'token_rejected'
  | 'foreign_user';

export class OpenIdError extends Error {
  constructor(
    readonly reason: OpenIdFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OpenIdError';
  }
}

/** Maps a server name to the base URL (scheme://host[:port]) of its federation API. */
export type BaseUrlResolver = (serverName: string, parsed: ParsedServerName) => Promise<string> | string;

export interface OpenIdVerifierOptions {
  /** CIDRs of otherwise-refused addresses that may be reached (homeserver on the LAN). */
  allowedIps?: readonly string[];
  /**
   * The bridge's own homeserver: tokens of users of `domain` are looked up at `url`
   * (the client-server base URL the bridge uses), without the address guard.
   */
  homeserver?: { domain: string; url: string };
  /** Server name → base URL of its userinfo endpoint, set by the operator; used as they are, like `homeserver`. */
  overrides?: Readonly<Record<string, string>>;
  /** Whole-exchange timeout, ms. Default 10 s. */
  timeoutMs?: number;
  /** Largest response body accepted, bytes. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Permit `http:` base URLs, and make the default resolver use http. Tests only. */
  allowHttp?: boolean;
  /** Replace server discovery. The returned URL is still subject to every guard. */
  resolveBaseUrl?: BaseUrlResolver;
  /** DNS lookup underneath the guard (tests: a fake resolver). Default `dns.lookup`. */
  lookup?: typeof dns.lookup;
  log?: Logger;
}

const DEFAULT_FEDERATION_PORT = 8448;

export class OpenIdVerifier {
  private readonly allow: AllowList;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly allowHttp: boolean;
  private readonly resolver: BaseUrlResolver;
  private readonly agent: Agent;
  /** For the operator's own URLs (homeserver, overrides): no address guard. Created on first use. */
  private trustedAgent?: Agent;
  /** Lower-cased server name → base URL the operator configured. */
  private readonly trusted = new Map<string, string>();
  private readonly log: Logger;

  constructor(opts: OpenIdVerifierOptions = {}) {
    this.allow = parseAllowList(opts.allowedIps);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBytes = opts.maxResponseBytes ?? 64 * 1024;
    this.allowHttp = opts.allowHttp === true;
    this.resolver = opts.resolveBaseUrl ?? ((name, parsed) => this.discover(name, parsed));
    for (const [name, url] of Object.entries(opts.overrides ?? {})) this.trusted.set(name.toLowerCase(), url);
    if (opts.homeserver) this.trusted.set(opts.homeserver.domain.toLowerCase(), opts.homeserver.url);
    this.log = opts.log ?? getLogger('provisioning.openid');
    const connect = guardedConnector(this.allow, { timeoutMs: this.timeoutMs, lookup: opts.lookup });
    this.agent = new Agent({ connect, connectTimeout: this.timeoutMs, keepAliveTimeout: 10_000, connections: 8 });
  }

  /**
   * Verify `token` with `matrixServer`; resolves to the user ID it belongs to.
   * Rejects with an OpenIdError (never with the token in the message).
   */
  async verify(matrixServer: string, token: string): Promise<string> {
    const parsed = parseServerName(matrixServer);
    if (!parsed) throw new OpenIdError('bad_server_name', 'matrixServer is not a valid server name');
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const configured = this.trusted.get(matrixServer.toLowerCase());
    const base = (configured ?? (await this.resolver(matrixServer, parsed))).replace(/\/+$/, '');
    const url = `${base}/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(token)}`;
    const { status, body } = await this.get(url, deadline, configured !== undefined);
    if (status === 401 || status === 403) throw new OpenIdError('token_rejected', `homeserver rejected the OpenID token (${status})`);
    if (status !== 200) throw new OpenIdError('bad_response', `homeserver answered ${status}`);
    let sub: unknown;
    try {
      sub = (JSON.parse(body.toString('utf8')) as { sub?: unknown })?.sub;
    } catch {
      throw new OpenIdError('bad_response', 'userinfo response is not JSON');
    }
    if (!isValidUserId(sub)) throw new OpenIdError('bad_response', 'userinfo response has no valid `sub`');
    if (userIdServer(sub).toLowerCase() !== matrixServer.toLowerCase()) {
      throw new OpenIdError('foreign_user', `userinfo named ${sub}, who is not on ${matrixServer}`);
    }
    return sub;
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.trustedAgent?.close()]);
  }

  /**
   * One GET: no redirects, bounded body, deadline. `trusted` (a URL from the operator's config)
   * skips the address guard and allows http; anything else must pass both.
   */
  private async get(url: string, signal: AbortSignal, trusted = false): Promise<{ status: number; body: Buffer }> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new OpenIdError('bad_server_name', 'resolved homeserver URL is invalid');
    }
    if (u.protocol !== 'https:' && !((this.allowHttp || trusted) && u.protocol === 'http:')) {
      throw new OpenIdError('bad_server_name', `refusing ${u.protocol} URL for the homeserver`);
    }
    if (u.username || u.password) throw new OpenIdError('bad_server_name', 'homeserver URL must not carry credentials');
    let res: Dispatcher.ResponseData;
    try {
      res = await request(u, {
        method: 'GET',
        dispatcher: trusted ? this.trustedDispatcher() : this.agent,
        signal,
        headers: { accept: 'application/json' },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw this.classify(err, signal);
    }
    if (res.statusCode >= 300 && res.statusCode < 400) {
      drop(res.body);
      throw new OpenIdError('redirect', `homeserver answered a redirect (${res.statusCode}); redirects are not followed`);
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      drop(res.body);
      throw new OpenIdError('too_large', `response larger than ${this.maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body) {
        total += (chunk as Buffer).length;
        if (total > this.maxBytes) {
          drop(res.body);
          throw new OpenIdError('too_large', `response larger than ${this.maxBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      throw err instanceof OpenIdError ? err : this.classify(err, signal);
    }
    return { status: res.statusCode, body: Buffer.concat(chunks, total) };
  }

  private trustedDispatcher(): Agent {
    return (this.trustedAgent ??= new Agent({ connectTimeout: this.timeoutMs, keepAliveTimeout: 10_000, connections: 8 }));
  }

  private classify(err: unknown, signal: AbortSignal): OpenIdError {
    const e = err as { code?: string; name?: string; cause?: unknown; message?: string };
    const cause = e?.cause as { code?: string } | undefined;
    if (err instanceof ForbiddenAddressError || e?.code === 'ESSRFBLOCKED' || cause?.code === 'ESSRFBLOCKED') {
      return new OpenIdError('forbidden_address', 'the homeserver resolves to an address that is not allowed');
    }
    if (signal.aborted || e?.name === 'TimeoutError' || /Timeout/i.test(e?.code ?? '')) {
      return new OpenIdError('timeout', 'the homeserver did not answer in time');
    }
    this.log.debug('OpenID userinfo request failed', { code: e?.code, error: e?.message });
    return new OpenIdError('network', 'could not reach the homeserver');
  }

  /**
   * Default server discovery: IP literals and names with a port are used as
   * they are; otherwise `/.well-known/matrix/server` on the name is consulted
   * (same guards), falling back to port 8448. SRV records are not consulted.
   */
  private async discover(name: string, parsed: ParsedServerName): Promise<string> {
    const scheme = this.allowHttp ? 'http' : 'https';
    if (parsed.isIpLiteral || parsed.port !== undefined) return `${scheme}://${parsed.host}:${parsed.port ?? DEFAULT_FEDERATION_PORT}`;
    try {
      const { status, body } = await this.get(`${scheme}://${parsed.host}/.well-known/matrix/server`, AbortSignal.timeout(this.timeoutMs));
      if (status === 200) {
        const delegated = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)?.['m.server'];
        const d = typeof delegated === 'string' ? parseServerName(delegated) : undefined;
        if (d) return `${scheme}://${d.host}:${d.port ?? DEFAULT_FEDERATION_PORT}`;
      }
    } catch (err) {
      if (err instanceof OpenIdError && err.reason === 'forbidden_address') throw err;
      // No usable well-known: fall back to the server name itself.
    }
    return `${scheme}://${parsed.host}:${DEFAULT_FEDERATION_PORT}`;
  }
}

/** Abandon a response body without an unhandled 'error' from its destruction. */
function drop(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {
    /* expected: we aborted it */
  });
  body.destroy();
}
