export { PostgresStore, type PostgresStoreOptions } from './postgres-store';
export { PG_MIGRATIONS, type PgMigration } from './migrations';
