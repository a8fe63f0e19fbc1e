// Homeserver -> appservice queries that block a client request: "does this
// namespaced user / alias exist?" (the AS creates it before answering 200), the
// ping round trip, and third-party protocol lookups.
import type { Appservice, AppserviceRegistry } from './appservices';
import type { ResolvedConfig } from './config';
import { MatrixError, notFound } from './errors';
import { Outbound, OutboundResult, TransportError } from './outbound';
import type { RoomStore } from './rooms';
import type { UserStore } from './users';
import { fieldsOf } from './util';

export class AsQueries {
  constructor(
    private appservices: AppserviceRegistry,
    private users: UserStore,
    private rooms: RoomStore,
    private out: Outbound,
    private config: ResolvedConfig,
  ) {}

  /**
   * One query with Synapse-like persistence: retried on timeouts/connection errors;
   * when every attempt timed out the client request fails with 408.
   */
  private async query(as: Appservice, paths: string[], query?: Record<string, string>): Promise<OutboundResult | undefined> {
    let timedOut = 0;
    const attempts = 1 + this.config.queryRetries;
    for (let i = 0; i < attempts; i++) {
      try {
        return await this.out.withFallback('GET', as.url!, paths, {
          token: as.hsToken,
          tokenInQuery: this.config.pushTokenInQuery,
          query,
          timeoutMs: this.config.queryTimeoutMs,
        });
      } catch (e) {
        if (e instanceof TransportError && e.kind === 'timeout') timedOut++;
      }
    }
    if (timedOut === attempts) throw new MatrixError(408, 'M_UNKNOWN', `Timed out waiting for appservice ${as.id}`);
    return undefined;
  }

  /** True when the user exists, asking interested appservices first if it is a namespaced unknown. */
  async userExists(userId: string): Promise<boolean> {
    if (this.users.exists(userId)) return true;
    if (!this.users.isLocal(userId)) return false;
    for (const as of this.candidates((a, x) => a.isUserInNamespace(userId, x))) {
      const enc = encodeURIComponent(userId);
      const r = await this.query(as, [`/_matrix/app/v1/users/${enc}`, `/users/${enc}`]);
      if (r && r.status >= 200 && r.status < 300 && this.users.exists(userId)) return true;
    }
    return this.users.exists(userId);
  }

  /** Room ID for an alias, asking interested appservices about unknown namespaced local aliases. */
  async resolveAlias(alias: string): Promise<string | undefined> {
    const known = this.rooms.resolveAlias(alias);
    if (known) return known;
    if (!alias.endsWith(':' + this.config.serverName)) return undefined;
    for (const as of this.candidates((a, x) => a.isAliasInNamespace(alias, x))) {
      const enc = encodeURIComponent(alias);
      const r = await this.query(as, [`/_matrix/app/v1/rooms/${enc}`, `/rooms/${enc}`]);
      if (r && r.status >= 200 && r.status < 300) {
        const id = this.rooms.resolveAlias(alias);
        if (id) return id;
      }
    }
    return this.rooms.resolveAlias(alias);
  }

  // Exclusive owners first: they are the authority for their namespace.
  private candidates(inNs: (a: Appservice, exclusiveOnly: boolean) => boolean): Appservice[] {
    const list = this.appservices.all().filter((a) => a.url && inNs(a, false));
    return list.sort((a, b) => Number(inNs(b, true)) - Number(inNs(a, true)));
  }

  /** POST /_matrix/app/v1/ping and translate the outcome into the client-visible result. */
  async ping(as: Appservice, body: Record<string, unknown>): Promise<{ duration_ms: number }> {
    if (!as.url) throw new MatrixError(400, 'M_URL_NOT_SET', 'Application service URL is not set');
    const start = Date.now();
    let r: OutboundResult;
    try {
      r = await this.out.request('POST', as.url, '/_matrix/app/v1/ping', {
        token: as.hsToken,
        tokenInQuery: this.config.pushTokenInQuery,
        body: JSON.stringify(body),
        timeoutMs: this.config.pingTimeoutMs,
      });
    } catch (e) {
      if (e instanceof TransportError && e.kind === 'timeout') {
        throw new MatrixError(504, 'M_CONNECTION_TIMEOUT', 'Connection to application service timed out');
      }
      throw new MatrixError(502, 'M_CONNECTION_FAILED', 'Failed to connect to application service');
    }
    if (r.status < 200 || r.status >= 300) {
      throw new MatrixError(502, 'M_BAD_STATUS', 'Application service returned a non-2xx status', { status: r.status, body: r.text });
    }
    return { duration_ms: Date.now() - start };
  }

  // ---- third party -----------------------------------------------------------

  private protocolOwners(protocol: string): Appservice[] {
    return this.appservices.all().filter((a) => a.url && a.protocols.includes(protocol));
  }

  private async thirdParty(as: Appservice, sub: string, query?: Record<string, string>): Promise<OutboundResult | undefined> {
    try {
      return await this.out.withFallback('GET', as.url!, [`/_matrix/app/v1/thirdparty/${sub}`, `/_matrix/app/unstable/thirdparty/${sub}`], {
        token: as.hsToken,
        tokenInQuery: this.config.pushTokenInQuery,
        query,
        timeoutMs: this.config.queryTimeoutMs,
      });
    } catch {
      return undefined;
    }
  }

  async protocol(protocol: string): Promise<Record<string, unknown>> {
    const owners = this.protocolOwners(protocol);
    if (owners.length === 0) throw notFound(`No protocol named ${protocol}`);
    // The first answering owner's fields, with the instances of every owner.
    let merged: { fields: Record<string, unknown>; instances: Record<string, unknown>[] } | undefined;
    for (const as of owners) {
      const r = await this.thirdParty(as, `protocol/${encodeURIComponent(protocol)}`);
      if (!r || r.status !== 200 || typeof r.json !== 'object' || r.json === null) continue;
      const fields = fieldsOf(r.json);
      const listed: unknown[] = Array.isArray(fields.instances) ? fields.instances : [];
      // Synapse tags each instance with an instance_id and merges instances of all owners.
      const instances = listed.map((i) => ({
        ...fieldsOf(i),
        instance_id: JSON.stringify({ appservice_id: as.id, network_id: fieldsOf(i).network_id }),
      }));
      if (!merged) merged = { fields, instances };
      else merged.instances.push(...instances);
    }
    if (!merged) throw notFound(`No protocol named ${protocol}`);
    return { ...merged.fields, instances: merged.instances };
  }

  async protocols(): Promise<Record<string, unknown>> {
    const names = new Set<string>();
    for (const as of this.appservices.all()) for (const p of as.protocols) names.add(p);
    const out: Record<string, unknown> = {};
    for (const p of names) {
      try {
        out[p] = await this.protocol(p);
      } catch {
        // An AS that cannot answer is left out, as Synapse does.
      }
    }
    return out;
  }

  /** location/user lookups: concatenates every answering AS's list; [] when none answered. */
  async lookup(kind: 'location' | 'user', protocol: string | undefined, query: URLSearchParams): Promise<unknown[]> {
    const owners = protocol ? this.protocolOwners(protocol) : this.appservices.all().filter((a) => a.url);
    if (protocol && owners.length === 0) throw notFound(`No protocol named ${protocol}`);
    const q: Record<string, string> = {};
    for (const [k, v] of query) if (k !== 'access_token' && k !== 'user_id') q[k] = v;
    const sub = protocol ? `${kind}/${encodeURIComponent(protocol)}` : kind;
    const out: unknown[] = [];
    for (const as of owners) {
      const r = await this.thirdParty(as, sub, q);
      if (r && r.status === 200 && Array.isArray(r.json)) out.push(...(r.json as unknown[]));
    }
    return out;
  }
}
