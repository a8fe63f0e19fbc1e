/**
 * IRC provisioning routes with MAI's semantics (matrix-appservice-irc §3 of the parity
 * reference) on the core's provisioning API, which authenticates every route (shared secret
 * + `user_id`, or an OpenID widget session), rate-limits, validates the bodies against the
 * schemas given here and audits link/unlink.
 *
 * Routes (below the core prefix, default `/_matrix/provision`; each also under `/v1`):
 * - `POST /link`     {remote_room_server, remote_room_channel, matrix_room_id | room_id, op_nick, key?}
 * - `POST /unlink`   {remote_room_server, remote_room_channel, matrix_room_id | room_id}
 * - `GET  /listlinks/{roomId}` → `[{matrix_room_id, remote_room_server, remote_room_channel}]`
 * - `POST /querylink` {remote_room_server, remote_room_channel, key?} → `{operators: [nick]}`
 * - `GET  /querynetworks` → `{servers: [...]}`
 * - `GET  /limits` → `{count, limit}`
 *
 * Linking needs the channel's consent, as in MAI: `op_nick` must be an operator of the channel
 * (as the relay bot sees it); the bot PMs them who asks for which room, and only a "yes"/"y"
 * reply from that nick within `provisioning.request_timeout_s` creates the link. Like MAI the
 * request does not block on the answer: it returns at once, with **202** and
 * `{status: "pending", ...}` (MAI sent 200 with `{}`; both are 2xx), and the requester is told
 * the outcome in their admin room. "no"/"n" refuses at once; any other reply gets a reminder.
 * One pending request per operator nick at a time (409 IRC_EXISTING_REQUEST).
 *
 * Like MAI, the room shows the request's progress in `m.room.bridging` state, state key
 * `irc://<server address>/<channel>`, content `{user_id: requester, status}`: `pending` before the
 * operator is asked, then `success` once linked, or `failure` on "no", on timeout, when the
 * operator cannot be messaged or when the approved link fails. The core writes it as the bot
 * (`portals.setBridgingStatus`); without power to send state in the room it is skipped and logged.
 */
import {
  BridgeError,
  MatrixError,
  Reply,
  type BridgeContext,
  type BridgingStatus,
  type ProvisioningRequest,
  type RouteDefinition,
} from '@causeway/bridge-core';
import { ircLower, isValidChannelName, isValidNick } from './irc';
import type { IrcConfig } from './config-schema';
import type { IrcNetwork } from './network/irc-network';
import type { IrcNetworks } from './network/registry';

export interface LinkEntry {
  matrix_room_id: string;
  remote_room_server: string;
  remote_room_channel: string;
}

const SERVER = { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]*$', maxLength: 255 } as const;
const CHANNEL = { type: 'string', pattern: '^([#&+][^\\s,:\\x00-\\x1f]{1,199}|![A-Z0-9]{5}[^\\s,:\\x00-\\x1f]{1,194})$' } as const;
const ROOM = { type: 'string', pattern: '^![\\x21-\\x7E]+$', maxLength: 255 } as const;
const KEY = { type: 'string', pattern: '^[^\\s,\\x00-\\x1f]{1,64}$' } as const;
const NICK = { type: 'string', minLength: 1, maxLength: 64 } as const;

const roomOneOf = { anyOf: [{ required: ['matrix_room_id'] }, { required: ['room_id'] }] };
const LINK_SCHEMA = {
  type: 'object',
  required: ['remote_room_server', 'remote_room_channel', 'op_nick'],
  ...roomOneOf,
  properties: { remote_room_server: SERVER, remote_room_channel: CHANNEL, matrix_room_id: ROOM, room_id: ROOM, op_nick: NICK, key: KEY },
};
const UNLINK_SCHEMA = {
  type: 'object',
  required: ['remote_room_server', 'remote_room_channel'],
  ...roomOneOf,
  properties: { remote_room_server: SERVER, remote_room_channel: CHANNEL, matrix_room_id: ROOM, room_id: ROOM },
};
const QUERY_SCHEMA = {
  type: 'object',
  required: ['remote_room_server', 'remote_room_channel'],
  properties: { remote_room_server: SERVER, remote_room_channel: CHANNEL, key: KEY },
};

/** MAI's key for a link's `m.room.bridging` state: the server's address, not our network name. */
export function bridgingStateKey(n: IrcNetwork, channel: string): string {
  return `irc://${n.cfg.address}/${channel}`;
}

/** The room a request is about: MAI's `matrix_room_id` or the core's `room_id` (they must agree when both are given). */
function roomOf(req: ProvisioningRequest): string {
  const a = req.body.matrix_room_id as string | undefined;
  const b = req.body.room_id as string | undefined;
  if (a && b && a !== b) throw new MatrixError(400, 'M_INVALID_PARAM', 'matrix_room_id and room_id differ');
  return (a ?? b)!;
}

/**
 * Operator queries (querylink, and link's check) one user may have running at once: each makes
 * the relay bot join a channel until it is answered.
 */
export const MAX_QUERIES_PER_USER = 3;

interface PendingLink {
  network: IrcNetwork;
  opNick: string;
  roomId: string;
  channel: string;
  key?: string;
  userId: string;
  timer: NodeJS.Timeout;
  unsubscribe: () => void;
}

export class IrcProvisioning {
  /** Pending consent requests by `network\0lowercased op nick`. */
  private readonly pending = new Map<string, PendingLink>();
  /** Links an operator approved, so the connector's beforeLink lets them through (`room\0network\0channel`). */
  private readonly approved = new Set<string>();
  /** Operator queries running, by requesting user (MAX_QUERIES_PER_USER). */
  private readonly queries = new Map<string, number>();

  constructor(private readonly c: { ctx: BridgeContext<IrcConfig>; networks: IrcNetworks }) {}

  /** Adds every route to the core's provisioning API (a no-op when provisioning is disabled). */
  register(): void {
    const p = this.c.ctx.provisioning;
    const routes: RouteDefinition[] = [
      {
        method: 'POST',
        path: '/link',
        schema: LINK_SCHEMA,
        requiresRoomPower: roomOf,
        powerErrcode: 'IRC_NOT_ENOUGH_POWER',
        audit: true,
        handler: (req) => this.link(req),
      },
      {
        method: 'POST',
        path: '/unlink',
        schema: UNLINK_SCHEMA,
        requiresRoomPower: roomOf,
        powerErrcode: 'IRC_NOT_ENOUGH_POWER',
        audit: true,
        handler: (req) => this.unlink(req),
      },
      {
        method: 'GET',
        path: '/listlinks/{roomId}',
        requiresRoomMembership: (req) => req.params.roomId,
        handler: (req) => this.listLinks(req.params.roomId),
      },
      { method: 'POST', path: '/querylink', schema: QUERY_SCHEMA, handler: (req) => this.queryLink(req) },
      { method: 'GET', path: '/querynetworks', handler: async () => this.networks() },
      { method: 'GET', path: '/limits', handler: () => this.limits() },
    ];
    for (const r of routes) {
      p.addRoute(r);
      p.addRoute({ ...r, path: `/v1${r.path}` });
    }
  }

  /** Whether an operator approved this link (consumed by the connector's beforeLink). */
  isApproved(roomId: string, network: string, channel: string): boolean {
    return this.approved.has(`${roomId}\u0000${network}\u0000${ircLower(channel)}`);
  }

  stop(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.unsubscribe();
    }
    this.pending.clear();
  }

  private networkOf(server: unknown): IrcNetwork {
    const n = this.c.networks.get(String(server));
    if (!n) throw new MatrixError(404, 'IRC_UNKNOWN_NETWORK', `Unknown network ${String(server)}.`);
    return n;
  }

  private channelOf(n: IrcNetwork, channel: unknown): string {
    const ch = String(channel);
    if (!isValidChannelName(ch)) throw new MatrixError(400, 'M_AS_BAD_VALUE', `${ch} is not a valid channel name.`);
    if (n.isExcludedChannel(ch)) throw new MatrixError(404, 'IRC_UNKNOWN_CHANNEL', `${ch} may not be bridged.`);
    return ch;
  }

  /** provisioning.rules: a room with a `conflict` member (not `exempt`), e.g. another IRC bridge's user, is not linked. */
  private async checkRules(roomId: string): Promise<void> {
    const { conflict, exempt } = this.c.ctx.config.provisioning.rules;
    if (!conflict.length) return;
    const matches = (res: string[], u: string) => res.some((re) => new RegExp(re).test(u));
    const clash = (await this.c.ctx.portals.joinedMatrixUsers(roomId)).filter((u) => matches(conflict, u) && !matches(exempt, u));
    if (clash.length) {
      throw new MatrixError(
        409,
        'IRC_DOUBLE_BRIDGE',
        `This room cannot be linked while ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ` and ${clash.length - 5} more` : ''} ${clash.length === 1 ? 'is' : 'are'} in it (provisioning.rules.conflict).`,
      );
    }
  }

  private async plumbedCount(): Promise<number> {
    return (await this.c.ctx.portals.list({ kind: 'plumbed' })).length;
  }

  private async operatorsOf(userId: string, n: IrcNetwork, channel: string, key?: string): Promise<string[]> {
    const running = this.queries.get(userId) ?? 0;
    if (running >= MAX_QUERIES_PER_USER) {
      throw new MatrixError(429, 'M_LIMIT_EXCEEDED', `You already have ${running} channel queries running; wait for them to finish.`);
    }
    this.queries.set(userId, running + 1);
    try {
      return await n.operators(channel, key);
    } catch (err) {
      if (err instanceof BridgeError) throw new MatrixError(404, 'IRC_UNKNOWN_CHANNEL', err.userMessage);
      throw err;
    } finally {
      const left = (this.queries.get(userId) ?? 1) - 1;
      if (left > 0) this.queries.set(userId, left);
      else this.queries.delete(userId);
    }
  }

  private async link(req: ProvisioningRequest): Promise<Reply> {
    const n = this.networkOf(req.body.remote_room_server);
    const channel = this.channelOf(n, req.body.remote_room_channel);
    const roomId = roomOf(req);
    const opNick = String(req.body.op_nick);
    const key = req.body.key as string | undefined;
    if (!isValidNick(opNick)) throw new MatrixError(400, 'IRC_BAD_OPERATOR_TARGET', `${opNick} is not a valid nick.`);
    const limit = this.c.ctx.config.provisioning.room_limit;
    if (limit > 0 && (await this.plumbedCount()) >= limit)
      throw new MatrixError(500, 'IRC_BRIDGE_AT_LIMIT', 'The bridge has reached its room limit.');
    if (await this.c.ctx.portals.getByRoom(roomId)) throw new MatrixError(409, 'IRC_EXISTING_MAPPING', 'This room is already bridged.');
    await this.checkRules(roomId);
    const pendingKey = `${n.name}\u0000${ircLower(opNick)}`;
    if (this.pending.has(pendingKey))
      throw new MatrixError(409, 'IRC_EXISTING_REQUEST', `A link request to ${opNick} is already waiting for an answer.`);
    const ops = await this.operatorsOf(req.userId, n, channel, key);
    if (!ops.some((o) => ircLower(o) === ircLower(opNick))) {
      throw new MatrixError(400, 'IRC_BAD_OPERATOR_TARGET', `${opNick} is not an operator of ${channel} on ${n.name}.`);
    }
    if (this.pending.has(pendingKey))
      throw new MatrixError(409, 'IRC_EXISTING_REQUEST', `A link request to ${opNick} is already waiting for an answer.`);

    const timeoutS = this.c.ctx.config.provisioning.request_timeout_s;
    const entry: PendingLink = {
      network: n,
      opNick,
      roomId,
      channel,
      key,
      userId: req.userId,
      timer: setTimeout(() => this.settle(pendingKey, 'timeout'), timeoutS * 1000),
      unsubscribe: n.onBotPrivateMessage((nick, text) => {
        if (ircLower(nick) !== ircLower(opNick)) return;
        const answer = text.trim().toLowerCase();
        if (answer === 'yes' || answer === 'y') this.settle(pendingKey, 'yes');
        else if (answer === 'no' || answer === 'n') this.settle(pendingKey, 'no');
        else void n.botSay(opNick, `Please answer "yes" or "y" to bridge ${channel} to ${roomId} (or "no").`);
      }),
    };
    entry.timer.unref();
    this.pending.set(pendingKey, entry);
    // Before the operator is asked, so a quick "yes" cannot be overwritten by a late "pending".
    await this.setStatus(entry, 'pending');
    const delivered = await n.botSay(
      opNick,
      `${req.userId} wants to bridge ${channel} to the Matrix room ${roomId} (https://matrix.to/#/${encodeURIComponent(roomId)}). ` +
        `Reply "yes" or "y" within ${timeoutS} seconds to approve.`,
    );
    if (!delivered) {
      this.drop(pendingKey);
      await this.setStatus(entry, 'failure');
      throw new MatrixError(500, 'M_AS_UNKNOWN', `The bridge could not message ${opNick} on ${n.name}.`);
    }
    req.log.info('link request sent to channel operator', { network: n.name, channel, roomId, opNick });
    return new Reply(202, {
      status: 'pending',
      op_nick: opNick,
      timeout_s: timeoutS,
      matrix_room_id: roomId,
      remote_room_server: n.name,
      remote_room_channel: channel,
    });
  }

  /** Best effort: the link request goes on whether or not the room shows its status. */
  private async setStatus(p: PendingLink, status: BridgingStatus): Promise<void> {
    await this.c.ctx.portals
      .setBridgingStatus({ roomId: p.roomId, stateKey: bridgingStateKey(p.network, p.channel), userId: p.userId, status })
      .catch((err: unknown) => this.c.ctx.log.warn('could not set m.room.bridging', { roomId: p.roomId, status, err: String(err) }));
  }

  private drop(pendingKey: string): PendingLink | undefined {
    const p = this.pending.get(pendingKey);
    if (!p) return undefined;
    this.pending.delete(pendingKey);
    clearTimeout(p.timer);
    p.unsubscribe();
    return p;
  }

  private settle(pendingKey: string, answer: 'yes' | 'no' | 'timeout'): void {
    const p = this.drop(pendingKey);
    if (!p) return;
    const n = p.network;
    const tell = (text: string) => this.c.ctx.notify.notice(p.userId, text).catch(() => undefined);
    if (answer !== 'yes') {
      const why =
        answer === 'no'
          ? `${p.opNick} declined`
          : `${p.opNick} did not answer within ${this.c.ctx.config.provisioning.request_timeout_s} seconds`;
      void tell(`Your request to bridge ${p.channel} on ${n.name} to ${p.roomId} was not approved: ${why}.`);
      if (answer === 'no') void n.botSay(p.opNick, `OK, ${p.channel} will not be bridged to ${p.roomId}.`);
      void this.setStatus(p, 'failure');
      return;
    }
    const approvedKey = `${p.roomId}\u0000${n.name}\u0000${ircLower(p.channel)}`;
    this.approved.add(approvedKey);
    void this.c.ctx.portals
      .link(p.roomId, n.portalKey(p.channel), { actor: p.userId, ...(p.key ? { data: { key: p.key } } : {}) })
      .then(
        () => {
          void this.setStatus(p, 'success');
          void n.botSay(p.opNick, `Thanks: ${p.channel} is now bridged to ${p.roomId}.`);
          void tell(`${p.channel} on ${n.name} is now bridged to ${p.roomId}: ${p.opNick} approved.`);
        },
        (err: unknown) => {
          this.c.ctx.log.warn('approved link failed', { network: n.name, channel: p.channel, roomId: p.roomId, err: String(err) });
          void this.setStatus(p, 'failure');
          void tell(
            `${p.opNick} approved bridging ${p.channel} on ${n.name} to ${p.roomId}, but the link failed: ${err instanceof BridgeError ? err.userMessage : String(err)}`,
          );
        },
      )
      .finally(() => this.approved.delete(approvedKey));
  }

  private async unlink(req: ProvisioningRequest): Promise<Record<string, never>> {
    const n = this.networkOf(req.body.remote_room_server);
    const channel = String(req.body.remote_room_channel);
    const roomId = roomOf(req);
    const portal = await this.c.ctx.portals.getByRoom(roomId);
    const key = n.portalKey(channel);
    // Only provisioned (plumbed) links; portal rooms and DMs belong to the bridge.
    if (!portal || portal.kind !== 'plumbed' || portal.key.network !== key.network || portal.key.id !== key.id) {
      throw new MatrixError(404, 'IRC_UNKNOWN_ROOM', `${roomId} is not linked to ${channel} on ${n.name}.`);
    }
    await this.c.ctx.portals.unlink(roomId, { actor: req.userId, reason: 'provisioning' });
    return {};
  }

  private async listLinks(roomId: string): Promise<LinkEntry[]> {
    const portal = await this.c.ctx.portals.getByRoom(roomId);
    if (!portal || portal.kind === 'dm' || !this.c.networks.get(portal.key.network)) return [];
    return [{ matrix_room_id: roomId, remote_room_server: portal.key.network, remote_room_channel: portal.key.id }];
  }

  private async queryLink(req: ProvisioningRequest): Promise<{ operators: string[] }> {
    const n = this.networkOf(req.body.remote_room_server);
    const channel = this.channelOf(n, req.body.remote_room_channel);
    return { operators: await this.operatorsOf(req.userId, n, channel, req.body.key as string | undefined) };
  }

  private networks(): { servers: Array<{ network_id: string; desc: string; fields: Record<string, string> }> } {
    return {
      servers: this.c.networks.list().map((n) => ({
        network_id: n.cfg.network_id ?? n.name,
        desc: n.cfg.name ?? n.name,
        fields: { domain: n.cfg.address, network: n.name },
      })),
    };
  }

  private async limits(): Promise<{ count: number; limit: number | null }> {
    const limit = this.c.ctx.config.provisioning.room_limit;
    return { count: await this.plumbedCount(), limit: limit > 0 ? limit : null };
  }
}
