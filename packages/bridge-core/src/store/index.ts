/** The persistence layer: the Store interface, its two backends and the factory. */
export * from './store';
export { createStore, storeFromConfig, type StoreOptions, type StoreTuning } from './create-store';
export { connectorData } from './connector-data';
export { StoreClosedError } from './common';
export { NedbStore, NEDB_MIGRATIONS, type NedbStoreOptions, type NedbMigration, type NedbMigrationContext } from './nedb';
export { PostgresStore, PG_MIGRATIONS, type PostgresStoreOptions, type PgMigration } from './postgres';
