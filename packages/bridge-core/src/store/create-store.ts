/**
 * Pick a store backend from configuration. The config loader maps the config
 * file's `database:` section onto StoreOptions. The returned store is not open
 * yet: call `await store.init()` (which runs pending migrations).
 */
import { NedbStore, type NedbStoreOptions } from './nedb';
import { PostgresStore, type PostgresStoreOptions } from './postgres';
import path from 'node:path';
import type { Store } from './store';
import type { CoreConfig } from '../config/schema';

export type StoreOptions =
  { engine: 'nedb'; directory: string } | { engine: 'postgres'; connectionString: string; maxConnections?: number; schema?: string };

/**
 * Extra, backend-specific knobs (timers, injected migrations for tests) that
 * the config file does not expose. Optional.
 */
export interface StoreTuning {
  nedb?: Omit<NedbStoreOptions, 'directory'>;
  postgres?: Omit<PostgresStoreOptions, 'connectionString' | 'maxConnections' | 'schema'>;
}

export function createStore(options: StoreOptions, tuning: StoreTuning = {}): Store {
  switch (options.engine) {
    case 'nedb':
      return new NedbStore({ ...tuning.nedb, directory: options.directory });
    case 'postgres':
      return new PostgresStore({
        ...tuning.postgres,
        connectionString: options.connectionString,
        maxConnections: options.maxConnections,
        schema: options.schema,
      });
    default: {
      const engine: never = options;
      throw new Error(`unknown store engine: ${JSON.stringify((engine as { engine?: unknown }).engine)}`);
    }
  }
}

/** The store the config file's `database:` section describes (not open yet). */
export function storeFromConfig(config: CoreConfig, tuning: StoreTuning = {}): Store {
  const db = config.database;
  return createStore(
    db.engine === 'postgres'
      ? { engine: 'postgres', connectionString: db.postgres!.connection_string, maxConnections: db.postgres!.max_connections }
      : { engine: 'nedb', directory: path.resolve(db.nedb.directory) },
    // The embedded store's queue log follows the journal's fsync setting: what the journal hands on
    // to a durable queue must be as safe there as it was in the journal.
    { ...tuning, nedb: { queueFsync: config.delivery.fsync, ...tuning.nedb } },
  );
}
