import type Datastore from 'nedb-promises';

/** The datastore files of the embedded backend, one per repository (memberships get their own). */
export type NedbCollection = 'portals' | 'ghosts' | 'messages' | 'intents' | 'memberships' | 'kv';

export const NEDB_COLLECTIONS: readonly NedbCollection[] = ['portals', 'ghosts', 'messages', 'intents', 'memberships', 'kv'];

export interface NedbMigrationContext {
  readonly datastores: Readonly<Record<NedbCollection, Datastore<{ _id: string }>>>;
}

/**
 * One numbered step of the embedded store's schema. NeDB has no transactions:
 * a migration must be idempotent (safe to run again if the process died before
 * its version was recorded). The version is recorded only after `up` resolves.
 */
export interface NedbMigration {
  version: number;
  name: string;
  up(ctx: NedbMigrationContext): Promise<void>;
}
