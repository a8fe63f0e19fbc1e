/** The embedded store's migrations, in order. Add new ones as NNN-name.ts and list them here. */
import m001 from './001-indexes';
import type { NedbMigration } from './types';

export * from './types';

export const NEDB_MIGRATIONS: readonly NedbMigration[] = [m001];
