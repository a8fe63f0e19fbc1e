import type Datastore from 'nedb-promises';

/**
 * The NeDB datastores of the embedded backend, one per repository (memberships
 * get their own). The message map's `messages.db` has the same file format but
 * is kept by its own log (message-log.ts), not by a datastore.
 */
export type NedbCollection = 'portals' | 'ghosts' | 'intents' | 'memberships' | 'kv';

export const NEDB_COLLECTIONS: readonly NedbCollection[] = ['portals', 'ghosts', 'intents', 'memberships', 'kv'];

interface NedbMigrationContext {
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
