/**
 * `causeway-irc migrate-mai-rooms (--nedb rooms.db | --postgres URL) [-c config.yaml] [--dry-run]`:
 * imports matrix-appservice-irc's room links into this bridge's store (see mai-rooms). Rooms
 * already known here are left alone, so it can run again. The bridge acts in those rooms only
 * as MAI's bot and ghosts did: keep MAI's bot user (`bridge.bot.localpart` = its registration's
 * `sender_localpart`) and ghost template, or invite the new bot to each room.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, storeFromConfig, ConfigError, type ConnectorCliCommand } from '@causeway/bridge-core';
import { IrcConfigSchema, type IrcConfig } from '../config-schema';
import { maiLinksFromNedb, maiLinksFromPostgres, portalsFromMaiLinks, type MaiLinks } from './mai-rooms';

const USAGE = 'Usage: migrate-mai-rooms (--nedb MAI_DATA/rooms.db | --postgres MAI_CONNECTION_STRING) [-c config.yaml] [--dry-run]';

async function readLinks(source: { nedb?: string; postgres?: string }): Promise<MaiLinks> {
  if (source.nedb) return maiLinksFromNedb(readFileSync(source.nedb, 'utf8'));
  const { Client } = await import('pg');
  const client = new Client({ connectionString: source.postgres });
  await client.connect();
  try {
    return await maiLinksFromPostgres(async (sql) => (await client.query(sql)).rows as Array<Record<string, unknown>>);
  } finally {
    await client.end();
  }
}

export const migrateMaiRoomsCommand: ConnectorCliCommand = {
  name: 'migrate-mai-rooms',
  args: '(--nedb FILE | --postgres URL) [-c FILE] [--dry-run]',
  summary: 'Import matrix-appservice-irc\'s room links (portals, plumbed rooms, PM rooms) into this bridge\'s store',
  async run(argv, io) {
    const opts: { nedb?: string; postgres?: string; config: string; dry: boolean } = { config: './config.yaml', dry: false };
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--nedb') opts.nedb = argv[++i];
      else if (a === '--postgres') opts.postgres = argv[++i];
      else if (a === '-c' || a === '--config') opts.config = argv[++i] ?? '';
      else if (a === '--dry-run') opts.dry = true;
      else { io.stderr(`Unexpected argument ${a}\n${USAGE}`); return 2; }
    }
    if (!!opts.nedb === !!opts.postgres || !opts.config) { io.stderr(USAGE); return 2; }
    let loaded;
    try {
      loaded = loadConfig<IrcConfig>(opts.config, { key: 'irc', schema: IrcConfigSchema });
    } catch (err) {
      io.stderr(err instanceof ConfigError ? err.message : String(err));
      return 1;
    }
    let links: MaiLinks;
    try {
      links = await readLinks(opts);
    } catch (err) {
      io.stderr(`Could not read MAI's rooms from ${opts.nedb ?? 'PostgreSQL'}: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    const servers = Object.entries(loaded.connector.servers);
    const networkFor = (domain: string) => servers.find(([name, s]) => s.address.toLowerCase() === domain.toLowerCase() || name === domain.toLowerCase())?.[0];
    const plan = portalsFromMaiLinks(links, networkFor);
    const store = storeFromConfig(loaded.core);
    await store.init();
    let imported = 0;
    let known = 0;
    try {
      for (const p of plan.portals) {
        if (await store.portals.getByRoom(p.roomId)) { known++; continue; }
        if (!opts.dry) await store.portals.put(p);
        imported++;
      }
    } finally {
      await store.close();
    }
    const kinds = (k: string) => plan.portals.filter((p) => p.kind === k).length;
    io.stdout(`${opts.dry ? 'Would import' : 'Imported'} ${imported} room(s) (${kinds('portal')} portal, ${kinds('plumbed')} plumbed, ${kinds('dm')} PM rooms in MAI's data); `
      + `${known} already known here; ${plan.skipped.length} skipped.`);
    for (const s of plan.skipped) io.stdout(`skipped ${s}`);
    return 0;
  },
};
