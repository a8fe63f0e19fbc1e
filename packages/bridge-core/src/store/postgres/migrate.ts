/**
 * Migration runner. Each pending migration runs in its own transaction that
 * first takes a transaction-scoped advisory lock (per schema), then re-checks
 * `schema_version`: two bridges starting at once serialise on the lock and the
 * second one finds the step already recorded, so nothing is applied twice.
 * A failing step rolls back completely (DDL is transactional in PostgreSQL).
 */
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../../logging/logger';
import { orderedMigrations } from '../common';
import type { PgMigration } from './migrations';

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

async function inLockedTransaction<T>(pool: Pool, lockKey: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    client.release();
  }
}

/** Applies every pending migration; returns the schema version afterwards. */
export async function runMigrations(
  pool: Pool,
  opts: { schema?: string; migrations: readonly PgMigration[]; log: Logger },
): Promise<number> {
  const migrations = orderedMigrations(opts.migrations);
  const lockKey = `causeway.store.migrate:${opts.schema ?? ''}`;

  const bootstrap = async (c: PoolClient): Promise<Set<number>> => {
    if (opts.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(opts.schema)}`);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_version (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await c.query<{ version: number }>('SELECT version FROM schema_version');
    return new Set(rows.map((r) => r.version));
  };

  const applied = await inLockedTransaction(pool, lockKey, bootstrap);
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length) {
    opts.log.warn('Database has schema versions this build does not know (was it run by a newer version?)', { versions: unknown });
  }

  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    await inLockedTransaction(pool, lockKey, async (c) => {
      const { rowCount } = await c.query('SELECT 1 FROM schema_version WHERE version = $1', [m.version]);
      if (rowCount) {
        opts.log.debug('Migration already applied by another process', { version: m.version, name: m.name });
        return;
      }
      opts.log.info('Applying PostgreSQL migration', { version: m.version, name: m.name, schema: opts.schema });
      await m.up(c);
      await c.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
    });
    applied.add(m.version);
  }
  return Math.max(0, ...applied);
}
