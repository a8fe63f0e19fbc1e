/**
 * Portals: which Matrix room is linked to which remote place. Creates
 * bridge-owned rooms on demand (one creation per place, however many callers
 * race), links and unlinks existing rooms, and writes an audit line for every
 * link change. Rooms it creates or links carry the bridge-info state (bridge-info.ts), and what
 * they were sent is remembered so starts only refresh rooms that are out of date (bridge-info-sync.ts).
 */
import type { PortalKey } from '../connector/ids';
import { portalKeyString } from '../connector/ids';
import type { PortalService } from '../connector/context';
import type { LinkHandler } from '../connector/capabilities';
import { BridgeError } from '../connector/errors';
import type { PortalRepository } from '../store/store';
import type { Logger } from '../logging/logger';
import type { Portal, PortalInfo } from '../connector/portal';
import { LocalpartTemplate } from './templates';
import { SingleFlight } from '../util/single-flight';
import type { Intent } from '../matrix/intent';
import type { BridgeInfoPublisher } from './bridge-info';
import { writeBridgingStatus } from './bridging-status';
import type { BridgingStatusUpdate } from '../connector/bridging-status';

export interface PortalManagerDeps {
  repo: PortalRepository;
  bot: Intent;
  domain: string;
  aliasTemplate?: LocalpartTemplate;
  /** How created rooms are made (`bridge.portal_rooms`, `bridge.dm_rooms`). */
  rooms?: { federate: boolean; roomVersion?: string; dmFederate: boolean };
  links?: LinkHandler;
  bridgeInfo: BridgeInfoPublisher;
  /** Joined members of a room from the state cache. */
  joinedMembers(roomId: string): Promise<string[]>;
  /** A state event's content from the state cache. */
  roomState?(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | undefined>;
  isBridgeUser(userId: string): boolean;
  /** A user's standing in a room (state cache): joined, their level, the level to change power levels. */
  userPower?(roomId: string, userId: string): Promise<{ joined: boolean; level: number; required: number }>;
  /** Whether a room has encryption on (state cache); an encrypted room cannot be bridged. */
  isEncrypted?(roomId: string): Promise<boolean>;
  /** Makes a ghost leave a room (after an unlink: the remote users it stood for are no longer there). */
  ghostLeave?(userId: string, roomId: string, reason: string): Promise<void>;
  /** Called after a room stops being a portal, so caches can forget it. */
  onUnlinked?(roomId: string): void;
  log: Logger;
  audit: Logger;
}

export class PortalManager implements PortalService {
  private readonly creating = new SingleFlight<string, Portal>();
  /** Hot path caches: every Matrix event looks its room up, every remote event its place. `null` = not a portal. */
  private readonly byRoom = new Map<string, Portal | null>();
  private readonly byKey = new Map<string, Portal[]>();
  /** Bumped on every write: a read that raced a write must not cache what it read. */
  private generation = 0;

  constructor(private readonly deps: PortalManagerDeps) {}

  async getByRoom(roomId: string): Promise<Portal | undefined> {
    const cached = this.byRoom.get(roomId);
    if (cached !== undefined) return cached ?? undefined;
    const gen = this.generation;
    const p = await this.deps.repo.getByRoom(roomId);
    if (gen === this.generation) {
      if (this.byRoom.size > 50_000) this.byRoom.clear();
      this.byRoom.set(roomId, p ?? null);
    }
    return p;
  }

  async getByKey(key: PortalKey): Promise<Portal[]> {
    const k = portalKeyString(key);
    const cached = this.byKey.get(k);
    if (cached) return cached;
    const gen = this.generation;
    const portals = await this.deps.repo.getByKey(key);
    if (gen === this.generation) {
      if (this.byKey.size > 50_000) this.byKey.clear();
      this.byKey.set(k, portals);
    }
    return portals;
  }

  /** Every write goes through here, so both caches follow the store. */
  private async save(portal: Portal): Promise<void> {
    this.generation++;
    await this.deps.repo.put(portal);
    this.generation++;
    this.byRoom.set(portal.roomId, portal);
    this.byKey.delete(portalKeyString(portal.key));
  }

  list(filter?: { network?: string; kind?: Portal['kind'] }): Promise<Portal[]> {
    return this.deps.repo.list(filter);
  }

  aliasLocalpartFor(key: PortalKey): string | undefined {
    return this.deps.aliasTemplate?.render({ network: key.network, id: key.id });
  }

  parseAliasLocalpart(localpart: string, networks?: readonly string[]): { network?: string; id: string } | null {
    return this.deps.aliasTemplate?.match(localpart, { networks }) ?? null;
  }

  async ensurePortalRoom(info: PortalInfo, opts: { aliasLocalpart?: string } = {}): Promise<Portal> {
    const existing = (await this.deps.repo.getByKey(info.key)).find((p) => p.kind === 'portal');
    if (existing) return existing;
    return this.creating.run(portalKeyString(info.key), async () => {
      const again = (await this.deps.repo.getByKey(info.key)).find((p) => p.kind === 'portal');
      if (again) return again;
      const alias = opts.aliasLocalpart ?? this.aliasLocalpartFor(info.key);
      const initialState = await this.deps.bridgeInfo.stateEvents({ key: info.key, kind: 'portal', data: info.data });
      const roomId = await this.deps.bot.createRoom({
        name: info.name,
        topic: info.topic,
        room_alias_name: alias,
        visibility: info.published ? 'public' : 'private',
        preset: info.inviteOnly ? 'private_chat' : 'public_chat',
        creation_content: { 'm.federate': this.deps.rooms?.federate ?? true },
        ...(this.deps.rooms?.roomVersion ? { room_version: this.deps.rooms.roomVersion } : {}),
        power_level_content_override: { users: { [this.deps.bot.userId]: 100 } },
        initial_state: initialState,
      });
      const portal: Portal = { roomId, key: info.key, kind: 'portal', data: info.data, createdAt: Date.now() };
      await this.save(portal);
      // The room already carries its bridge info: remember it, so the next start does not send it again.
      await this.deps.bridgeInfo.created(portal, initialState);
      this.deps.audit.info('portal room created', { roomId, network: info.key.network, channel: info.key.id, alias });
      await this.deps.links
        ?.onPortalCreated?.({ key: info.key, roomId })
        .catch((err: unknown) => this.deps.log.warn('connector could not fill the new portal room', { roomId, err: String(err) }));
      return portal;
    });
  }

  async ensureDmRoom(key: PortalKey, matrixUserId: string, ghost: Intent, name?: string): Promise<Portal> {
    const existing = (await this.deps.repo.getByKey(key)).find((p) => p.kind === 'dm' && p.dmUser === matrixUserId);
    if (existing) return existing;
    return this.creating.run(`dm\u0000${portalKeyString(key)}\u0000${matrixUserId}`, async () => {
      const roomId = await ghost.createRoom({
        invite: [matrixUserId],
        is_direct: true,
        preset: 'trusted_private_chat',
        name,
        ...(this.deps.rooms?.dmFederate === false ? { creation_content: { 'm.federate': false } } : {}),
        power_level_content_override: { users: { [ghost.userId]: 100, [matrixUserId]: 100 } },
      });
      const portal: Portal = { roomId, key, kind: 'dm', dmUser: matrixUserId, createdAt: Date.now() };
      await this.save(portal);
      return portal;
    });
  }

  /** Record a DM room a Matrix user started by inviting a ghost. */
  async adoptDmRoom(roomId: string, key: PortalKey, matrixUserId: string): Promise<Portal> {
    const portal: Portal = { roomId, key, kind: 'dm', dmUser: matrixUserId, createdAt: Date.now() };
    await this.save(portal);
    return portal;
  }

  async link(
    roomId: string,
    key: PortalKey,
    opts: { actor?: string; data?: Record<string, unknown>; source?: string } = {},
  ): Promise<Portal> {
    const current = await this.getByRoom(roomId);
    if (current) {
      if (portalKeyString(current.key) === portalKeyString(key)) return current;
      throw new BridgeError(`This room is already linked to ${current.key.id} on ${current.key.network}.`);
    }
    await this.deps.links?.beforeLink?.({ key, roomId, userId: opts.actor ?? '' });
    try {
      await this.deps.bot.ensureJoined(roomId);
    } catch (err) {
      throw new BridgeError('The bridge bot cannot join this room: invite it first.', { cause: err });
    }
    if (await this.deps.isEncrypted?.(roomId).catch(() => false)) {
      throw new BridgeError('This room is encrypted: the bridge cannot read its messages, so it cannot be linked.');
    }
    const portal: Portal = { roomId, key, kind: 'plumbed', data: opts.data, createdAt: Date.now() };
    await this.save(portal);
    this.deps.audit.info('room linked', { roomId, network: key.network, channel: key.id, actor: opts.actor, source: opts.source });
    await this.deps.bridgeInfo.publish(portal, opts.actor || undefined);
    await this.deps.links?.onLinked?.({ key, roomId });
    return portal;
  }

  async unlink(roomId: string, opts: { actor?: string; reason?: string; source?: string } = {}): Promise<boolean> {
    const portal = await this.getByRoom(roomId);
    if (!portal) return false;
    // Read before the state cache forgets the room (onUnlinked below).
    const ghosts = this.deps.ghostLeave
      ? (await this.deps.joinedMembers(roomId).catch(() => [])).filter((u) => u !== this.deps.bot.userId && this.deps.isBridgeUser(u))
      : [];
    this.generation++;
    await this.deps.repo.delete(roomId);
    this.generation++;
    this.byRoom.set(roomId, null);
    this.byKey.delete(portalKeyString(portal.key));
    this.deps.audit.info('room unlinked', {
      roomId,
      network: portal.key.network,
      channel: portal.key.id,
      actor: opts.actor,
      reason: opts.reason,
      source: opts.source,
    });
    this.deps.onUnlinked?.(roomId);
    await this.deps.bridgeInfo.clear(portal);
    await this.deps.links?.onUnlinked?.({ key: portal.key, roomId });
    // The remote users are no longer in this room; leaving it is what a member list that stays true
    // needs (MAI made the ghosts leave on unlink too). One at a time: an unlink is rare, a large room
    // should not burst the homeserver.
    for (const userId of ghosts) {
      await this.deps.ghostLeave!(userId, roomId, 'This room is no longer bridged').catch((err: unknown) =>
        this.deps.log.warn('ghost did not leave an unlinked room', { roomId, userId, err: String(err) }),
      );
    }
    return true;
  }

  /**
   * Encryption was turned on in a bridged room. The bridge cannot read what is said there any
   * more, and encryption cannot be turned off: the room is told, unlinked (ghosts leave), and the
   * bot leaves, as matrix-appservice-irc did, instead of relaying nothing while looking bridged.
   */
  async abandonEncrypted(roomId: string, actor: string): Promise<void> {
    const portal = await this.getByRoom(roomId);
    if (!portal) return;
    await this.deps.bot
      .sendMessage(roomId, {
        msgtype: 'm.notice',
        body: 'Encryption is on in this room now, and the bridge cannot read encrypted messages: this room is no longer bridged.',
      })
      .catch((err: unknown) => this.deps.log.warn('could not tell an encrypted room it is unbridged', { roomId, err: String(err) }));
    await this.unlink(roomId, { actor, reason: 'encryption enabled', source: 'matrix' });
    if (portal.kind === 'dm') return; // the bot is not in DMs
    await this.deps.bot
      .leave(roomId)
      .catch((err: unknown) => this.deps.log.warn('bot could not leave an encrypted room', { roomId, err: String(err) }));
  }

  async canManage(roomId: string, userId: string): Promise<{ ok: boolean; level: number; required: number }> {
    const p = await this.deps.userPower?.(roomId, userId).catch(() => undefined);
    if (!p) return { ok: false, level: 0, required: 100 };
    return { ok: p.joined && p.level >= p.required, level: p.level, required: p.required };
  }

  async roomState(roomId: string, type: string, stateKey = ''): Promise<Record<string, unknown> | undefined> {
    if (!this.deps.roomState) throw new Error('room state lookups are not available');
    return this.deps.roomState(roomId, type, stateKey);
  }

  async joinedMatrixUsers(roomId: string): Promise<string[]> {
    return (await this.deps.joinedMembers(roomId)).filter((u) => !this.deps.isBridgeUser(u));
  }

  setBridgingStatus(update: BridgingStatusUpdate): Promise<boolean> {
    return writeBridgingStatus(this.deps.bot, this.deps.log, update);
  }
}
