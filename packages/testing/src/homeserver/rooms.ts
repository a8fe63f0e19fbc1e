// Rooms: the event graph reduced to what a bridge can observe — a linear timeline,
// current state, membership, aliases — plus the authorisation rules (membership
// transitions and power levels) a real homeserver applies before accepting an event.
import { MatrixError, badJson, forbidden } from './errors';
import { fieldsOf, newEventId, randomString } from './util';

export interface MatrixEvent {
  event_id: string;
  type: string;
  room_id: string;
  sender: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  state_key?: string;
  redacts?: string;
  unsigned: Record<string, unknown>;
}

export interface EventRecord {
  ev: MatrixEvent;
  /** Local receive time; unsigned.age is computed from this, not origin_server_ts (which `?ts=` may massage). */
  receivedAt: number;
}

/** Client-format copy with a fresh unsigned.age, as served over the CS API and pushed to appservices. */
export function formatEvent(rec: EventRecord, now = Date.now()): MatrixEvent {
  return { ...rec.ev, unsigned: { ...rec.ev.unsigned, age: now - rec.receivedAt } };
}

export interface EventDraft {
  sender: string;
  type: string;
  content: Record<string, unknown>;
  state_key?: string;
  redacts?: string;
  /** `?ts=` timestamp massaging (appservices only). */
  ts?: number;
}

const stateKeyOf = (type: string, stateKey: string) => type + '\u0000' + stateKey;

export class Room {
  readonly state = new Map<string, EventRecord>();
  readonly timeline: EventRecord[] = [];
  /** userId -> current m.room.member event */
  readonly members = new Map<string, EventRecord>();
  readonly joined = new Set<string>();
  /** Local aliases pointing here (directory), used for appservice alias-namespace interest. */
  readonly aliases = new Set<string>();
  /** State as it was when a user left/was kicked/banned: what they may still read. */
  readonly leftState = new Map<string, EventRecord[]>();
  readonly typing = new Map<string, NodeJS.Timeout>();
  /** appservice id -> "interested in this room" (cleared on membership/alias changes). */
  readonly interest = new Map<string, boolean>();

  constructor(
    readonly roomId: string,
    readonly version: string,
    readonly creator: string,
  ) {}

  getState(type: string, stateKey = ''): EventRecord | undefined {
    return this.state.get(stateKeyOf(type, stateKey));
  }

  membership(userId: string): string | undefined {
    // Always a string: the auth rules refuse a member event without one.
    const m = this.members.get(userId)?.ev.content.membership;
    return typeof m === 'string' ? m : undefined;
  }

  /** The join rule ('invite' when unset; a malformed value is passed on as it is, matching nothing). */
  get joinRule(): string {
    return stateText(this.getState('m.room.join_rules')?.ev.content.join_rule, 'invite');
  }

  get historyVisibility(): string {
    return stateText(this.getState('m.room.history_visibility')?.ev.content.history_visibility, 'shared');
  }

  private get pl(): Record<string, unknown> | undefined {
    return this.getState('m.room.power_levels')?.ev.content;
  }

  userLevel(userId: string): number {
    const pl = this.pl;
    if (!pl) return userId === this.creator ? 100 : 0;
    const v = fieldsOf(pl.users)[userId];
    return toInt(v ?? pl.users_default, 0);
  }

  /** Level needed to send an event of this type (state or not). */
  eventLevel(type: string, isState: boolean): number {
    const pl = this.pl;
    // Spec: state_default is 50 if unspecified, but 0 when there is no power_levels event at all.
    if (!pl) return 0;
    const explicit = fieldsOf(pl.events)[type];
    if (explicit !== undefined) return toInt(explicit, 0);
    return isState ? toInt(pl.state_default, 50) : toInt(pl.events_default, 0);
  }

  actionLevel(action: 'ban' | 'kick' | 'redact' | 'invite'): number {
    const v = this.pl?.[action];
    return toInt(v, action === 'invite' ? 0 : 50);
  }

  /** Current state as a list (insertion order = the order it was first set). */
  currentState(): EventRecord[] {
    return Array.from(this.state.values());
  }
}

/** A state field read as text: `dflt` when unset, otherwise its text (a malformed value never equals a known one). */
function stateText(v: unknown, dflt: string): string {
  if (v === undefined || v === null) return dflt;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function toInt(v: unknown, dflt: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return parseInt(v, 10);
  return dflt;
}

// Content keys surviving redaction (room versions ≤ 10, plus v11's additions which are harmless here).
const REDACTION_KEEP: Record<string, string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator', 'room_version', 'm.federate', 'predecessor', 'type'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default', 'invite'],
  'm.room.history_visibility': ['history_visibility'],
  'm.room.redaction': ['redacts'],
};

export interface RoomHooks {
  /** Called synchronously for each accepted event, in stream order. */
  onEvent(room: Room, rec: EventRecord): void;
}

export const SUPPORTED_ROOM_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'];
export const DEFAULT_ROOM_VERSION = '10';

export class RoomStore {
  private rooms = new Map<string, Room>();
  private events = new Map<string, { room: Room; rec: EventRecord }>();
  private joinedByUser = new Map<string, Set<string>>();
  /** Local room directory: alias -> room + who created the mapping. */
  readonly aliases = new Map<string, { roomId: string; creator: string }>();
  /** Rooms published to the public room list (networkId set for appservice lists). */
  readonly published = new Map<string, { networkId?: string; appserviceId?: string }>();

  constructor(
    readonly serverName: string,
    private hooks: RoomHooks,
  ) {}

  newRoomId(): string {
    return `!${randomString(18)}:${this.serverName}`;
  }

  /** An empty room shell; the caller must send m.room.create first. */
  newRoom(creator: string, version: string): Room {
    const room = new Room(this.newRoomId(), version, creator);
    this.rooms.set(room.roomId, room);
    return room;
  }

  get(roomId: string): Room | undefined {
    return this.rooms.get(roomId);
  }

  get size(): number {
    return this.rooms.size;
  }

  allRoomIds(): string[] {
    return Array.from(this.rooms.keys());
  }

  event(eventId: string): { room: Room; rec: EventRecord } | undefined {
    return this.events.get(eventId);
  }

  joinedRooms(userId: string): string[] {
    const s = this.joinedByUser.get(userId);
    return s ? Array.from(s) : [];
  }

  resolveAlias(alias: string): string | undefined {
    return this.aliases.get(alias)?.roomId;
  }

  addAlias(alias: string, roomId: string, creator: string): void {
    if (this.aliases.has(alias)) throw new MatrixError(409, 'M_UNKNOWN', `Room alias ${alias} already exists`);
    const room = this.rooms.get(roomId);
    if (!room) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room');
    this.aliases.set(alias, { roomId, creator });
    room.aliases.add(alias);
    room.interest.clear();
  }

  removeAlias(alias: string): void {
    const a = this.aliases.get(alias);
    if (!a) return;
    this.aliases.delete(alias);
    const room = this.rooms.get(a.roomId);
    if (room) {
      room.aliases.delete(alias);
      room.interest.clear();
    }
  }

  /** Authorise and append an event. Throws MatrixError (usually 403) when the auth rules reject it. */
  send(room: Room, d: EventDraft): EventRecord {
    if (d.state_key !== undefined && typeof d.state_key !== 'string') throw badJson('state_key must be a string');
    this.authorise(room, d);
    const now = Date.now();
    const ev: MatrixEvent = {
      event_id: newEventId(),
      type: d.type,
      room_id: room.roomId,
      sender: d.sender,
      content: d.content,
      origin_server_ts: d.ts ?? now,
      unsigned: {},
    };
    if (d.state_key !== undefined) ev.state_key = d.state_key;
    if (d.redacts !== undefined) ev.redacts = d.redacts;
    const rec: EventRecord = { ev, receivedAt: now };
    this.apply(room, rec);
    return rec;
  }

  private apply(room: Room, rec: EventRecord): void {
    const ev = rec.ev;
    room.timeline.push(rec);
    this.events.set(ev.event_id, { room, rec });
    if (ev.state_key !== undefined) {
      const k = stateKeyOf(ev.type, ev.state_key);
      const prev = room.state.get(k);
      if (prev) {
        ev.unsigned.prev_content = prev.ev.content;
        ev.unsigned.prev_sender = prev.ev.sender;
        ev.unsigned.replaces_state = prev.ev.event_id;
      }
      room.state.set(k, rec);
      if (ev.type === 'm.room.member') this.applyMembership(room, rec, prev?.ev.content.membership);
    }
    if (ev.type === 'm.room.redaction') {
      const target = ev.redacts ?? ev.content.redacts;
      if (typeof target === 'string') this.applyRedaction(room, target, rec);
    }
    this.hooks.onEvent(room, rec);
  }

  private applyMembership(room: Room, rec: EventRecord, prevMembership: unknown): void {
    const userId = rec.ev.state_key!;
    const m = rec.ev.content.membership;
    room.members.set(userId, rec);
    room.interest.clear();
    if (m === 'join') {
      room.joined.add(userId);
      room.leftState.delete(userId);
      let s = this.joinedByUser.get(userId);
      if (!s) this.joinedByUser.set(userId, (s = new Set()));
      s.add(room.roomId);
    } else {
      room.joined.delete(userId);
      this.joinedByUser.get(userId)?.delete(room.roomId);
      if (prevMembership === 'join' || prevMembership === 'invite') room.leftState.set(userId, room.currentState());
      const t = room.typing.get(userId);
      if (t) {
        clearTimeout(t);
        room.typing.delete(userId);
      }
    }
  }

  private applyRedaction(room: Room, targetId: string, redaction: EventRecord): void {
    const hit = this.events.get(targetId);
    if (!hit || hit.room !== room) return;
    const target = hit.rec.ev;
    const keep = REDACTION_KEEP[target.type] ?? [];
    const pruned: Record<string, unknown> = {};
    for (const k of keep) if (k in target.content) pruned[k] = target.content[k];
    target.content = pruned;
    target.unsigned = { redacted_because: { ...redaction.ev, unsigned: {} } };
  }

  // ---- authorisation -------------------------------------------------------

  private authorise(room: Room, d: EventDraft): void {
    if (d.type === 'm.room.create') {
      if (room.state.size > 0 || d.state_key !== '') throw forbidden('Cannot send m.room.create here');
      return;
    }
    if (d.type === 'm.room.member' && d.state_key !== undefined) return this.authoriseMember(room, d);
    const isState = d.state_key !== undefined;
    if (room.membership(d.sender) !== 'join') throw forbidden(`User ${d.sender} not in room ${room.roomId}`);
    if (isState && d.state_key!.startsWith('@') && d.state_key !== d.sender) {
      throw forbidden('You are not allowed to set others state');
    }
    const level = room.userLevel(d.sender);
    const needed = room.eventLevel(d.type, isState);
    if (level < needed) {
      throw forbidden(`You don't have permission to post that to the room. user_level (${level}) < send_level (${needed})`);
    }
    if (d.type === 'm.room.power_levels' && isState) this.authorisePowerLevels(room, d, level);
    if (d.type === 'm.room.redaction') {
      const target = d.redacts ?? d.content.redacts;
      const hit = typeof target === 'string' ? this.events.get(target) : undefined;
      if (hit && hit.room === room && hit.rec.ev.sender !== d.sender && level < room.actionLevel('redact')) {
        throw forbidden("You don't have permission to redact events");
      }
    }
  }

  private authoriseMember(room: Room, d: EventDraft): void {
    const target = d.state_key!;
    const m = d.content.membership;
    if (typeof m !== 'string') throw badJson('Missing membership');
    if (target[0] !== '@' || !target.includes(':')) throw badJson('Invalid state_key for m.room.member');
    const cur = room.membership(target);
    const sm = room.membership(d.sender);
    // The creator's first join right after m.room.create.
    if (m === 'join' && room.state.size === 1 && target === room.creator && d.sender === target) return;
    // Levels are looked up only for the transitions that need them (joins are the hot path).
    const ls = () => room.userLevel(d.sender);
    const lt = () => room.userLevel(target);
    switch (m) {
      case 'join': {
        if (d.sender !== target) throw forbidden('Cannot force another user to join.');
        if (cur === 'ban') throw forbidden('You are banned from the room');
        const jr = room.joinRule;
        if (jr === 'public') return;
        if (cur === 'join' || cur === 'invite') return;
        throw forbidden('You are not invited to this room.');
      }
      case 'invite': {
        if (sm !== 'join') throw forbidden(`User ${d.sender} not in room ${room.roomId}`);
        if (cur === 'ban') throw forbidden(`${target} is banned from the room`);
        if (cur === 'join') throw forbidden(`${target} is already in the room.`);
        if (ls() < room.actionLevel('invite')) throw forbidden("You don't have permission to invite users");
        return;
      }
      case 'leave': {
        if (d.sender === target) {
          if (cur === 'join' || cur === 'invite' || cur === 'knock') return;
          throw forbidden(`User ${d.sender} not in room ${room.roomId}`);
        }
        if (sm !== 'join') throw forbidden(`User ${d.sender} not in room ${room.roomId}`);
        if (cur === 'ban' && ls() < room.actionLevel('ban')) throw forbidden(`You cannot unban user ${target}.`);
        if (ls() >= room.actionLevel('kick') && lt() < ls()) return;
        throw forbidden(`You cannot kick user ${target}.`);
      }
      case 'ban': {
        if (sm !== 'join') throw forbidden(`User ${d.sender} not in room ${room.roomId}`);
        if (ls() >= room.actionLevel('ban') && lt() < ls()) return;
        throw forbidden(`You don't have permission to ban ${target}.`);
      }
      case 'knock': {
        if (d.sender !== target) throw forbidden('Cannot knock for another user');
        if (room.joinRule !== 'knock' && room.joinRule !== 'knock_restricted')
          throw forbidden('You are not permitted to knock on this room');
        if (cur === 'ban' || cur === 'join') throw forbidden('You cannot knock on this room');
        return;
      }
      default:
        throw badJson(`Unknown membership ${m}`);
    }
  }

  /** Spec auth rule 10: nobody may grant or revoke power above their own. */
  private authorisePowerLevels(room: Room, d: EventDraft, level: number): void {
    const old = room.getState('m.room.power_levels')?.ev.content;
    if (!old) return;
    const neu = d.content;
    const tooHigh = (a: unknown, b: unknown) => toInt(a, 0) > level || toInt(b, 0) > level;
    for (const k of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
      if (old[k] !== neu[k] && tooHigh(old[k], neu[k])) throw forbidden(`You don't have permission to change ${k} beyond your own level`);
    }
    const oe = fieldsOf(old.events);
    const ne = fieldsOf(neu.events);
    for (const k of new Set([...Object.keys(oe), ...Object.keys(ne)])) {
      if (oe[k] !== ne[k] && tooHigh(oe[k], ne[k])) throw forbidden(`You don't have permission to change the level of ${k}`);
    }
    const ou = fieldsOf(old.users);
    const nu = fieldsOf(neu.users);
    for (const k of new Set([...Object.keys(ou), ...Object.keys(nu)])) {
      if (ou[k] === nu[k]) continue;
      if (k !== d.sender && ou[k] !== undefined && toInt(ou[k], 0) >= level) {
        throw forbidden(`You don't have permission to change the level of ${k}`);
      }
      if (tooHigh(ou[k], nu[k])) throw forbidden(`You don't have permission to raise ${k} above your own level`);
    }
  }
}
