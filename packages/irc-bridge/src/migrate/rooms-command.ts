/**
 * `causeway-irc migrate-mai-rooms (--nedb MAI_DATA_DIR | --postgres URL) [-c config.yaml] [--dry-run]`:
 * imports matrix-appservice-irc's rooms and users' choices into this bridge's store (see
 * mai-rooms), before its first start. What is already known here is left alone, so it can run
 * again. The bridge acts in those rooms only as MAI's bot and ghosts did: keep MAI's bot user
 * (`bridge.bot.localpart` = its registration's `sender_localpart`) and ghost template, or invite
 * the new bot to each room.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConnectorCliCommand, type KeyValueRepository } from '@causeway/bridge-core';
import { AdminRooms, connectorData, loadConfig, storeFromConfig, type Store } from '@causeway/bridge-core/tools';
import { IrcConfigSchema, type IrcConfig } from '../config-schema';
import { IRC_PROTOCOL } from '../protocol';
import { STORED_NICKS, STORED_USERNAMES, userKey } from '../network/user-connections';
import { FEATURES_NAMESPACE } from '../user-features';
import {
  maiLinksFromNedb,
  maiLinksFromPostgres,
  maiUsersFromNedb,
  maiUsersFromPostgres,
  portalsFromMaiLinks,
  type MaiLinks,
  type MaiUser,
} from './mai-rooms';

const USAGE = 'Usage: migrate-mai-rooms (--nedb MAI_DATA_DIR | --postgres MAI_CONNECTION_STRING) [-c config.yaml] [--dry-run]';

async function readMai(source: { nedb?: string; postgres?: string }, domains: string[]): Promise<{ links: MaiLinks; users: MaiUser[] }> {
  if (source.nedb) {
    // The data directory (rooms.db, users.db), or rooms.db itself.
    const dir = statSync(source.nedb).isDirectory() ? source.nedb : path.dirname(source.nedb);
    const usersDb = path.join(dir, 'users.db');
    return {
      links: maiLinksFromNedb(readFileSync(path.join(dir, 'rooms.db'), 'utf8')),
      users: existsSync(usersDb) ? maiUsersFromNedb(readFileSync(usersDb, 'utf8'), domains) : [],
    };
  }
  const { Client } = await import('pg');
  const client = new Client({ connectionString: source.postgres });
  await client.connect();
  try {
    const query = async (sql: string) => (await client.query(sql)).rows as Array<Record<string, unknown>>;
    return { links: await maiLinksFromPostgres(query), users: await maiUsersFromPostgres(query) };
  } finally {
    await client.end();
  }
}

/** Writes `value` under (ns, key) unless something is there already; returns whether it wrote. */
async function putNew(data: KeyValueRepository, ns: string, key: string, value: unknown, dry: boolean): Promise<boolean> {
  if ((await data.get(ns, key)) !== undefined) return false;
  if (!dry) await data.put(ns, key, value);
  return true;
}

/** Users' admin rooms, nicks, usernames and mention choice; returns counts of what was written. */
async function importUsers(store: Store, links: MaiLinks, users: MaiUser[], networkFor: (d: string) => string | undefined, dry: boolean) {
  const admin = new AdminRooms(store.kv);
  const data = connectorData(store.kv, IRC_PROTOCOL.id);
  const n = { adminRooms: 0, nicks: 0, usernames: 0, features: 0 };
  for (const a of links.adminRooms ?? []) {
    if ((await admin.adminRoomFor(a.userId)) || (await admin.ownerOf(a.roomId))) continue;
    if (!dry) await admin.remember(a.userId, a.roomId);
    n.adminRooms++;
  }
  for (const u of users) {
    for (const c of u.clients) {
      const network = networkFor(c.domain);
      if (!network) continue;
      if (c.nick && (await putNew(data, STORED_NICKS, userKey(network, u.userId), c.nick, dry))) n.nicks++;
      if (c.username && (await putNew(data, STORED_USERNAMES, userKey(network, u.userId), c.username, dry))) n.usernames++;
    }
    if (u.mentions !== undefined && (await putNew(data, FEATURES_NAMESPACE, u.userId, { mentions: u.mentions }, dry))) n.features++;
  }
  return n;
}

export const migrateMaiRoomsCommand: ConnectorCliCommand = {
  name: 'migrate-mai-rooms',
  args: '(--nedb DIR | --postgres URL) [-c FILE] [--dry-run]',
  summary: "Import matrix-appservice-irc's rooms (portals, plumbed, PM and admin rooms) and users' nicks into this bridge's store",
  async run(argv, io) {
    const opts: { nedb?: string; postgres?: string; config: string; dry: boolean } = { config: './config.yaml', dry: false };
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--nedb') opts.nedb = argv[++i];
      else if (a === '--postgres') opts.postgres = argv[++i];
      else if (a === '-c' || a === '--config') opts.config = argv[++i] ?? '';
      else if (a === '--dry-run') opts.dry = true;
      else {
        io.stderr(`Unexpected argument ${a}\n${USAGE}`);
        return 2;
      }
    }
    if (!!opts.nedb === !!opts.postgres || !opts.config) {
      io.stderr(USAGE);
      return 2;
    }
    let loaded;
    try {
      loaded = loadConfig<IrcConfig>(opts.config, { key: 'irc', schema: IrcConfigSchema });
    } catch (err) {
      io.stderr(err instanceof ConfigError ? err.message : String(err));
      return 1;
    }
    const servers = Object.entries(loaded.connector.servers);
    let mai: { links: MaiLinks; users: MaiUser[] };
    try {
      mai = await readMai(
        opts,
        servers.map(([, s]) => s.address.toLowerCase()),
      );
    } catch (err) {
      io.stderr(`Could not read MAI's data from ${opts.nedb ?? 'PostgreSQL'}: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    const networkFor = (domain: string) =>
      servers.find(([name, s]) => s.address.toLowerCase() === domain.toLowerCase() || name === domain.toLowerCase())?.[0];
    const plan = portalsFromMaiLinks(mai.links, networkFor);
    const store = storeFromConfig(loaded.core);
    await store.init();
    let imported = 0;
    let known = 0;
    let users;
    try {
      for (const p of plan.portals) {
        if (await store.portals.getByRoom(p.roomId)) {
          known++;
          continue;
        }
        if (!opts.dry) await store.portals.put(p);
        imported++;
      }
      users = await importUsers(store, mai.links, mai.users, networkFor, opts.dry);
    } finally {
      await store.close();
    }
    const kinds = (k: string) => plan.portals.filter((p) => p.kind === k).length;
    io.stdout(
      `${opts.dry ? 'Would import' : 'Imported'} ${imported} room(s) (${kinds('portal')} portal, ${kinds('plumbed')} plumbed, ${kinds('dm')} PM rooms in MAI's data); ` +
        `${known} already known here; ${plan.skipped.length} skipped. ${opts.dry ? 'Would keep' : 'Kept'} ${users.adminRooms} admin room(s), ` +
        `${users.nicks} nick(s), ${users.usernames} username(s) and ${users.features} mention choice(s) of users (not already set here).`,
    );
    for (const s of plan.skipped) io.stdout(`skipped ${s}`);
    return 0;
  },
};
