export { NedbStore, type NedbStoreOptions } from './nedb-store';
export { NEDB_MIGRATIONS, type NedbMigration } from './migrations';
