/**
 * Compact in-memory form of one room's cached state.
 *
 * A room is ONE flat one-byte string of records (small rooms), or a
 * Map<key, value> once it has more than BIG_ROOM records, so per-member cost is
 * the characters of its fields plus ~20 bytes, with no per-event objects:
 *
 *   record = RS key US value
 *   key    = <type code char> <state key>
 *   value  = <origin_server_ts base36> US <event-id hash base36> US <payload>
 *
 * Payloads: m.room.member `membership-code US displayname US avatar`
 * (avatar `mxc://<user's server>/x` stored as `\x02x`), m.room.create
 * `sender US json(content)`, everything else `json(content)`.
 * Fields with control characters or characters above U+00FF are escaped as
 * `\x01` + UTF-8-bytes-as-Latin-1 of their JSON, which keeps the string
 * one-byte (and free of separators) whatever users put in their names.
 */

const RS = '\x1e';
export const US = '\x1f';
const ESC = '\x01';
const SAME_SERVER = '\x02';
const EMPTY = '\x04';
const NEEDS_ESC = /[\x00-\x1f\u0100-\uffff]/;
const WIDE = /[\u0100-\uffff]/;

/** Rooms with more records than this switch from one string to a Map. */
const BIG_ROOM = 64;

export type RoomTable = string | Map<string, string>;

function latin1Utf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}
function fromLatin1Utf8(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

export function encKey(k: string): string {
  return NEEDS_ESC.test(k) ? ESC + latin1Utf8(JSON.stringify(k)) : k;
}
export function decKey(s: string): string {
  return s.charCodeAt(0) === 1 ? (JSON.parse(fromLatin1Utf8(s.slice(1))) as string) : s;
}

export function encField(v: unknown): string {
  if (typeof v !== 'string') return '';
  if (v === '') return EMPTY;
  return NEEDS_ESC.test(v) ? ESC + latin1Utf8(JSON.stringify(v)) : v;
}
export function decField(s: string): string | undefined {
  if (s === '') return undefined;
  const c = s.charCodeAt(0);
  if (c === 4 && s.length === 1) return '';
  if (c === 1) return JSON.parse(fromLatin1Utf8(s.slice(1))) as string;
  return s;
}

export function encJson(v: unknown): string {
  const j = JSON.stringify(v ?? {});
  return WIDE.test(j) ? ESC + latin1Utf8(j) : j;
}
export function decJson(s: string): Record<string, unknown> {
  const j = s.charCodeAt(0) === 1 ? fromLatin1Utf8(s.slice(1)) : s;
  const v = JSON.parse(j) as unknown;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const M_CODE: Record<string, string> = { join: 'j', leave: 'l', invite: 'i', ban: 'b', knock: 'k' };
const M_NAME: Record<string, string> = { j: 'join', l: 'leave', i: 'invite', b: 'ban', k: 'knock' };

function serverOf(userId: string): string | undefined {
  const i = userId.indexOf(':');
  return i > 0 ? userId.slice(i + 1) : undefined;
}

export interface MemberInfo {
  userId: string;
  membership: string;
  displayname?: string;
  avatar_url?: string;
}

export function encMember(userId: string, content: Record<string, unknown>): string {
  const m = typeof content.membership === 'string' ? content.membership : 'leave';
  const code = M_CODE[m] ?? ESC + latin1Utf8(JSON.stringify(m));
  // Leave/ban records only need the membership: names of people who left are not kept.
  if (code === 'l' || code === 'b') return code + US + US;
  let avatar = encField(content.avatar_url);
  const server = serverOf(userId);
  if (server && typeof content.avatar_url === 'string' && avatar === content.avatar_url) {
    const prefix = `mxc://${server}/`;
    if (avatar.startsWith(prefix) && avatar.length > prefix.length) avatar = SAME_SERVER + avatar.slice(prefix.length);
  }
  return code + US + encField(content.displayname) + US + avatar;
}

export function decMembership(payload: string): string {
  const end = payload.indexOf(US);
  const code = end < 0 ? payload : payload.slice(0, end);
  return code.length === 1 ? (M_NAME[code] ?? 'leave') : (decField(code) ?? 'leave');
}

export function decMember(userId: string, payload: string): MemberInfo {
  const [code, dn, av] = payload.split(US);
  const info: MemberInfo = { userId, membership: decMembership(code) };
  const displayname = decField(dn ?? '');
  if (displayname !== undefined) info.displayname = displayname;
  if (av && av.charCodeAt(0) === 2) info.avatar_url = `mxc://${serverOf(userId)}/${av.slice(1)}`;
  else {
    const avatar = decField(av ?? '');
    if (avatar !== undefined) info.avatar_url = avatar;
  }
  return info;
}

/** 30-bit FNV-1a of an event ID, base36 (≤ 6 chars): enough to recognise a redaction's target. */
export function eventHash(eventId: unknown): string {
  if (typeof eventId !== 'string') return '';
  let h = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) {
    h ^= eventId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) & 0x3fffffff).toString(36);
}

export interface ParsedValue {
  ts: number;
  hash: string;
  payload: string;
}

export function makeValue(ts: number, hash: string, payload: string): string {
  return ts.toString(36) + US + hash + US + payload;
}
export function parseValue(v: string): ParsedValue {
  const a = v.indexOf(US);
  const b = v.indexOf(US, a + 1);
  return { ts: parseInt(v.slice(0, a), 36), hash: v.slice(a + 1, b), payload: v.slice(b + 1) };
}
export function valueTs(v: string): number {
  return parseInt(v.slice(0, v.indexOf(US)), 36);
}
export function valuePayload(v: string): string {
  return v.slice(v.indexOf(US, v.indexOf(US) + 1) + 1);
}

// ---- the table ---------------------------------------------------------------

export function tableFromEntries(entries: Iterable<[string, string]>): RoomTable {
  const list = Array.isArray(entries) ? (entries as Array<[string, string]>) : [...entries];
  if (list.length > BIG_ROOM) return new Map(list);
  const parts: string[] = [];
  for (const [k, v] of list) parts.push(RS, k, US, v);
  return parts.join('');
}

export function tableGet(t: RoomTable, key: string): string | undefined {
  if (typeof t !== 'string') return t.get(key);
  const i = t.indexOf(RS + key + US);
  if (i < 0) return undefined;
  const start = i + key.length + 2;
  const end = t.indexOf(RS, start);
  return end < 0 ? t.slice(start) : t.slice(start, end);
}

/** Set (or delete, value undefined) a record; returns the table to keep (strings are immutable). */
export function tableSet(t: RoomTable, key: string, value: string | undefined): RoomTable {
  if (typeof t !== 'string') {
    if (value === undefined) t.delete(key);
    else t.set(key, value);
    return t;
  }
  const i = t.indexOf(RS + key + US);
  let before = t;
  let after = '';
  if (i >= 0) {
    const end = t.indexOf(RS, i + 1);
    before = t.slice(0, i);
    after = end < 0 ? '' : t.slice(end);
  } else if (value !== undefined && tableSize(t) >= BIG_ROOM) {
    const m = new Map(tableEntries(t));
    m.set(key, value);
    return m;
  }
  // join() yields a flat sequential string (no rope or slice keeping the old one alive).
  return value === undefined ? [before, after].join('') : [before, after, RS, key, US, value].join('');
}

function tableSize(t: RoomTable): number {
  if (typeof t !== 'string') return t.size;
  let n = 0;
  for (let i = t.indexOf(RS); i >= 0; i = t.indexOf(RS, i + 1)) n++;
  return n;
}

export function* tableEntries(t: RoomTable, keyPrefix?: string): Generator<[string, string]> {
  if (typeof t !== 'string') {
    for (const e of t) if (keyPrefix === undefined || e[0].startsWith(keyPrefix)) yield e;
    return;
  }
  let i = t.indexOf(RS);
  while (i >= 0) {
    const end = t.indexOf(RS, i + 1);
    if (keyPrefix === undefined || t.startsWith(keyPrefix, i + 1)) {
      const rec = end < 0 ? t.slice(i + 1) : t.slice(i + 1, end);
      const sep = rec.indexOf(US);
      yield [rec.slice(0, sep), rec.slice(sep + 1)];
    }
    i = end;
  }
}

/** The packed string form (for persistence). */
export function tableSerialize(t: RoomTable): string {
  if (typeof t === 'string') return t;
  const parts: string[] = [];
  for (const [k, v] of t) parts.push(RS, k, US, v);
  return parts.join('');
}

export function tableDeserialize(s: string): RoomTable {
  return tableSize(s) > BIG_ROOM ? new Map(tableEntries(s)) : s;
}

/** Content keys that survive a redaction, per event type (redaction algorithm, room v11). */
export const REDACTION_KEEPS: Record<string, string[] | 'all'> = {
  'm.room.member': ['membership'],
  'm.room.create': 'all',
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'invite', 'kick', 'redact', 'state_default', 'users', 'users_default'],
  'm.room.history_visibility': ['history_visibility'],
};
