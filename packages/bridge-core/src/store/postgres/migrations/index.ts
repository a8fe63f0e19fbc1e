/** The PostgreSQL migrations, in order. Add new ones as NNN-name.ts and list them here. */
import m001 from './001-initial';
import m002 from './002-queues';
import type { PgMigration } from './types';

export * from './types';

export const PG_MIGRATIONS: readonly PgMigration[] = [m001, m002];
