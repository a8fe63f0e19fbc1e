export { NedbStore, type NedbStoreOptions } from './nedb-store';
export { NEDB_MIGRATIONS, NEDB_COLLECTIONS, type NedbMigration, type NedbMigrationContext, type NedbCollection } from './migrations';
