import type { PoolClient } from 'pg';

/**
 * One numbered step of the PostgreSQL schema. The runner calls `up` inside a
 * transaction that already holds the migration advisory lock, with the
 * store's schema first on the `search_path`: use unqualified table names and
 * do not COMMIT/ROLLBACK yourself. A throw rolls the whole step back.
 */
export interface PgMigration {
  version: number;
  name: string;
  up(client: PoolClient): Promise<void>;
}
