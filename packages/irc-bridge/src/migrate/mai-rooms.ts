/**
 * matrix-appservice-irc's room links → this bridge's portals, so a migration keeps its rooms:
 * MAI's portal rooms keep their aliases on the homeserver, and without a portal record here
 * everyone joining `#irc_#channel` would land in a room no bridge serves.
 *
 * MAI kept links in NeDB (`rooms.db`: one JSON document per line, later lines replacing earlier
 * ones by `_id`, `$$deleted` lines removing them) or PostgreSQL (tables `rooms` and `pm_rooms`).
 * Each link has an origin: `alias` and `join` rooms were created by MAI (portals here),
 * `provision` rooms were linked by their owners (plumbed here), `config` rooms come from the
 * config's `mappings` (carried over by migrate-mai-config, so skipped). PM rooms become DM
 * portals of their Matrix user. Users' admin rooms stay their admin rooms, and what they chose
 * (`!nick`, `!username`, `!feature`) comes along; their stored passwords cannot (MAI sealed them
 * with its own RSA key).
 */
import type { Portal } from '@causeway/bridge-core';
import { ircLower } from '../irc';

export interface MaiLinks {
  channels: Array<{ roomId: string; domain: string; channel: string; origin?: string }>;
  pms: Array<{ roomId: string; domain: string; nick: string; matrixUserId: string }>;
  adminRooms?: Array<{ roomId: string; userId: string }>;
}

/** What a Matrix user chose in MAI: per IRC server domain their nick and username, and features. */
export interface MaiUser {
  userId: string;
  clients: Array<{ domain: string; nick?: string; username?: string }>;
  mentions?: boolean;
}

type Doc = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? v : undefined);
const obj = (v: unknown): Doc => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {});

/** The documents of a NeDB file as NeDB itself would load them (last write wins, deletions applied). */
export function nedbDocuments(text: string): Doc[] {
  const byId = new Map<string, Doc>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let doc: Doc;
    try {
      doc = JSON.parse(line) as Doc;
    } catch {
      continue; // NeDB skips a corrupt line (up to its corruptAlertThreshold) too
    }
    const id = str(doc._id);
    if (!id) continue; // index definitions ($$indexCreated) have no _id
    if (doc.$$deleted === true) byId.delete(id);
    else byId.set(id, doc);
  }
  return [...byId.values()];
}

/** MAI's `rooms.db` documents (matrix-appservice-bridge's RoomBridgeStore entries) as links. */
export function maiLinksFromNedb(text: string): MaiLinks {
  const out: MaiLinks = { channels: [], pms: [] };
  for (const d of nedbDocuments(text)) {
    const roomId = str(d.matrix_id);
    const remote = obj(d.remote);
    const data = obj(d.data);
    const domain = str(remote.domain);
    const channel = str(remote.channel);
    const adminOf = str(obj(obj(d.matrix).extras).admin_id);
    if (roomId && adminOf) {
      (out.adminRooms ??= []).push({ roomId, userId: adminOf });
      continue;
    }
    if (!roomId || !domain || !channel) continue;
    if (str(data.real_user_id) && str(data.virtual_user_id)) {
      out.pms.push({ roomId, domain, nick: channel, matrixUserId: data.real_user_id as string });
    } else if (
      remote.type === 'channel' ||
      channel.startsWith('#') ||
      channel.startsWith('&') ||
      channel.startsWith('+') ||
      channel.startsWith('!')
    ) {
      out.channels.push({ roomId, domain, channel, origin: str(data.origin) });
    }
  }
  return out;
}

/**
 * MAI's `users.db` (matrix-appservice-bridge's UserBridgeStore): Matrix users' `client_config`,
 * keyed by server domain with dots written as underscores, and `features`.
 */
export function maiUsersFromNedb(text: string, domains: readonly string[]): MaiUser[] {
  const out: MaiUser[] = [];
  for (const d of nedbDocuments(text)) {
    const userId = str(d.id);
    if (d.type !== 'matrix' || !userId?.startsWith('@')) continue;
    const data = obj(d.data);
    const clients = Object.entries(obj(data.client_config)).map(([key, c]) => ({
      // MAI wrote "irc.example.net" as "irc_example_net"; the configured domains tell them apart.
      domain: domains.find((dom) => dom.replace(/\./g, '_') === key) ?? key.replace(/_/g, '.'),
      nick: str(obj(c).nick),
      username: str(obj(c).username),
    }));
    const mentions = obj(data.features).mentions;
    out.push({ userId, clients, ...(typeof mentions === 'boolean' ? { mentions } : {}) });
  }
  return out;
}

/** MAI's PostgreSQL tables as links (`query` runs SQL on MAI's database). */
export async function maiLinksFromPostgres(query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<MaiLinks> {
  const channels = (await query("SELECT room_id, irc_domain, irc_channel, origin FROM rooms WHERE type = 'channel'")).map((r) => ({
    roomId: String(r.room_id),
    domain: String(r.irc_domain),
    channel: String(r.irc_channel),
    origin: str(r.origin),
  }));
  const pms = (await query('SELECT room_id, irc_domain, irc_nick, matrix_user_id FROM pm_rooms WHERE matrix_user_id IS NOT NULL')).map(
    (r) => ({ roomId: String(r.room_id), domain: String(r.irc_domain), nick: String(r.irc_nick), matrixUserId: String(r.matrix_user_id) }),
  );
  const adminRooms = (await query('SELECT room_id, user_id FROM admin_rooms WHERE user_id IS NOT NULL')).map((r) => ({
    roomId: String(r.room_id),
    userId: String(r.user_id),
  }));
  return { channels, pms, adminRooms };
}

/** MAI's PostgreSQL `client_config` and `user_features` as users. */
export async function maiUsersFromPostgres(query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<MaiUser[]> {
  const users = new Map<string, MaiUser>();
  const user = (id: string) => users.get(id) ?? users.set(id, { userId: id, clients: [] }).get(id)!;
  for (const r of await query('SELECT user_id, domain, config FROM client_config WHERE user_id IS NOT NULL')) {
    const c = obj(typeof r.config === 'string' ? JSON.parse(r.config) : r.config);
    user(String(r.user_id)).clients.push({ domain: String(r.domain), nick: str(c.nick), username: str(c.username) });
  }
  for (const r of await query('SELECT user_id, features FROM user_features WHERE user_id IS NOT NULL')) {
    const f = obj(typeof r.features === 'string' ? JSON.parse(r.features) : r.features);
    if (typeof f.mentions === 'boolean') user(String(r.user_id)).mentions = f.mentions;
  }
  return [...users.values()];
}

export interface PortalPlan {
  portals: Portal[];
  /** Links not turned into portals, and why (one line each). */
  skipped: string[];
}

/**
 * The portals MAI's links become. `networkFor` maps an MAI server domain (its config key, the
 * server address) to a network name here, or undefined when no network here has that address.
 */
export function portalsFromMaiLinks(links: MaiLinks, networkFor: (domain: string) => string | undefined, now = Date.now()): PortalPlan {
  const portals: Portal[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (p: Portal, what: string) => {
    if (seen.has(p.roomId)) {
      skipped.push(`${p.roomId}: ${what}: the room is linked more than once in MAI's database; kept the first link`);
      return;
    }
    seen.add(p.roomId);
    portals.push(p);
  };
  for (const l of links.channels) {
    const network = networkFor(l.domain);
    const what = `${l.channel} on ${l.domain}`;
    if (!network) {
      skipped.push(`${l.roomId}: ${what}: no network here has the address ${l.domain}`);
      continue;
    }
    if (l.origin === 'config') continue; // irc.servers.*.mappings, carried over with the config
    const kind = l.origin === 'provision' ? 'plumbed' : 'portal';
    add({ roomId: l.roomId, key: { network, id: ircLower(l.channel) }, kind, createdAt: now }, what);
  }
  for (const pm of links.pms) {
    const network = networkFor(pm.domain);
    const what = `private messages with ${pm.nick} on ${pm.domain}`;
    if (!network) {
      skipped.push(`${pm.roomId}: ${what}: no network here has the address ${pm.domain}`);
      continue;
    }
    add({ roomId: pm.roomId, key: { network, id: ircLower(pm.nick) }, kind: 'dm', dmUser: pm.matrixUserId, createdAt: now }, what);
  }
  return { portals, skipped };
}
