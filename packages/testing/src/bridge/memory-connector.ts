/**
 * A connector for core integration tests: a "remote network" held in memory.
 * It records everything the core hands it and lets a test emit remote events.
 * Remote message IDs are assigned in order ("r1", "r2", …) like a real network would.
 */
import { Type } from '@sinclair/typebox';
import type {
  BridgeConnector,
  BridgeContext,
  SendResult,
  MatrixMessage,
  MatrixEdit,
  MatrixRedaction,
  MatrixReaction,
  MatrixReactionRemoval,
  MatrixMembership,
  MatrixRoomMeta,
  PortalInfo,
  GhostKey,
  BridgeInfoDisplay,
  Portal,
  RemoteEvent,
} from '@causeway/bridge-core';
import { BridgeError } from '@causeway/bridge-core';

export type Delivered =
  | { kind: 'message'; event: MatrixMessage; remoteId: string }
  | { kind: 'edit'; event: MatrixEdit }
  | { kind: 'redaction'; event: MatrixRedaction }
  | { kind: 'reaction'; event: MatrixReaction }
  | { kind: 'reaction.remove'; event: MatrixReactionRemoval }
  | { kind: 'membership'; event: MatrixMembership }
  | { kind: 'meta'; event: MatrixRoomMeta };

export const MemoryConfigSchema = Type.Object(
  {
    network: Type.String({ default: 'mem', description: 'Network name of the in-memory remote.' }),
  },
  { additionalProperties: false },
);

export class MemoryConnector implements BridgeConnector<{ network: string }> {
  readonly protocol = {
    id: 'mem',
    displayName: 'Memory',
    defaults: { botLocalpart: '_mem_bot', ghostLocalpartTemplate: '_mem_$NETWORK_$ID', aliasLocalpartTemplate: '_mem_$NETWORK_$ID' },
    stateEventTypes: ['org.example.mem.settings'],
  };
  readonly configSchema = MemoryConfigSchema;
  ctx!: BridgeContext<{ network: string }>;
  readonly delivered: Delivered[] = [];
  /** Make the next Matrix message fail with this user-facing error. */
  rejectNext?: string;
  /** Hold Matrix→remote deliveries until released (to simulate a slow network). */
  gate?: Promise<void>;
  private nextId = 1;
  started = false;
  /** Times the core said who may use the bridge changed (a ban list rule). */
  permissionsChanged = 0;
  /** Remote events the core gave up on (the homeserver stayed unreachable), with the reason it gave. */
  readonly undeliverable: Array<{ event: RemoteEvent; reason: string }> = [];

  onRemoteEventUndeliverable(event: RemoteEvent, reason: string): void {
    this.undeliverable.push({ event, reason });
  }

  onPermissionsChanged(): void {
    this.permissionsChanged++;
  }

  init(ctx: BridgeContext<{ network: string }>): void {
    this.ctx = ctx;
    // Custom routes on the appservice port: authenticated unless declared public.
    ctx.http.addRoute('GET', '/_mem/status', () => ({ body: { delivered: this.delivered.length } }));
    ctx.http.addRoute('GET', '/_mem/health', () => ({ body: { ok: true } }), { public: true });
    // Plumbing through provisioning: body {room_id, channel}.
    ctx.provisioning.addLinkRoutes({
      linkSchema: { type: 'object', required: ['channel'], properties: { channel: { type: 'string', pattern: '^[a-z0-9._-]{1,64}$' } } },
      link: async (roomId, userId, body) => {
        const p = await ctx.portals.link(roomId, { network: ctx.config.network, id: body.channel as string }, { actor: userId });
        return { room_id: p.roomId, channel: p.key.id };
      },
      unlink: async (roomId, userId) => ({ unlinked: await ctx.portals.unlink(roomId, { actor: userId }) }),
      list: async (roomId) => {
        const p = await ctx.portals.getByRoom(roomId);
        return p ? [{ network: p.key.network, channel: p.key.id }] : [];
      },
    });
  }
  async start(): Promise<void> {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.started = false;
  }

  async handleMatrixMessage(event: MatrixMessage): Promise<SendResult> {
    if (this.gate) await this.gate;
    if (this.rejectNext) {
      const msg = this.rejectNext;
      this.rejectNext = undefined;
      throw new BridgeError(msg);
    }
    const remoteId = `r${this.nextId++}`;
    this.delivered.push({ kind: 'message', event, remoteId });
    return { remoteIds: [remoteId] };
  }
  async handleMatrixEdit(event: MatrixEdit): Promise<void> {
    this.delivered.push({ kind: 'edit', event });
  }
  async handleMatrixRedaction(event: MatrixRedaction): Promise<void> {
    this.delivered.push({ kind: 'redaction', event });
  }
  async handleMatrixReaction(event: MatrixReaction): Promise<void> {
    this.delivered.push({ kind: 'reaction', event });
  }
  async handleMatrixReactionRemoval(event: MatrixReactionRemoval): Promise<void> {
    this.delivered.push({ kind: 'reaction.remove', event });
  }
  async handleMatrixMembership(event: MatrixMembership): Promise<void> {
    this.delivered.push({ kind: 'membership', event });
  }
  async handleMatrixRoomMeta(event: MatrixRoomMeta): Promise<void> {
    this.delivered.push({ kind: 'meta', event });
  }

  /** Portals on demand: alias `_mem_<network>_<channel>` → channel. */
  async resolveAlias(localpart: string): Promise<PortalInfo | null> {
    const m = /^_mem_([a-z0-9]+)_([a-z0-9._-]+)$/.exec(localpart);
    if (!m || m[2].startsWith('forbidden')) return null;
    return { key: { network: m[1], id: m[2] }, name: `#${m[2]}`, topic: `Remote channel ${m[2]}`, published: true };
  }
  async resolveGhost(localpart: string): Promise<{ key: GhostKey; displayName?: string } | null> {
    const m = /^_mem_([a-z0-9]+)_([a-z0-9._-]+)$/.exec(localpart);
    return m ? { key: { network: m[1], id: m[2] }, displayName: m[2] } : null;
  }

  /** Display data for the core's bridge-info state; a test turns it off to see what the core sends alone. */
  describePortals = true;
  /** The network's display name in bridge info, as an operator would set (or rename) it in the config. */
  networkDisplayName?: string;
  /** Make describing a portal fail, as a connector that cannot answer yet would. */
  describeFails = false;
  bridgeInfo(portal: Pick<Portal, 'key'>): BridgeInfoDisplay {
    if (this.describeFails) throw new Error('network not ready');
    if (!this.describePortals) return {};
    const { network, id } = portal.key;
    return {
      network: { displayname: this.networkDisplayName ?? `Memory network ${network}` },
      channel: { displayname: `#${id}`, external_url: `https://mem.example/${network}/${encodeURIComponent(id)}` },
    };
  }

  messages(): Array<Extract<Delivered, { kind: 'message' }>> {
    return this.delivered.filter((d): d is Extract<Delivered, { kind: 'message' }> => d.kind === 'message');
  }
}
