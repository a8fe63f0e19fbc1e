/**
 * Indexes for the hot lookups. Uniqueness of the natural keys is carried by
 * `_id` (NeDB always keeps a unique index on it):
 *   portals `_id` = roomId · ghosts `_id` = ghostKeyString(key) ·
 *   messages `_id` = roomId\0eventId\0part · intents `_id` = userId ·
 *   memberships `_id` = roomId\0userId · kv `_id` = namespace\0key.
 * The secondary unique index is ghost `userId`. NeDB persists index
 * definitions in the datafile and rebuilds them on every load, so this only
 * needs to run once; `ensureIndex` is idempotent anyway.
 * (It also indexed messages.db until the message map moved to its own log,
 * which indexes in memory and keeps those index lines through compaction.)
 */
import type { NedbMigration } from './types';

const migration: NedbMigration = {
  version: 1,
  name: 'indexes',
  async up({ datastores: ds }) {
    await ds.portals.ensureIndex({ fieldName: 'k' }); // portalKeyString(key), for getByKey
    await ds.portals.ensureIndex({ fieldName: 'network' });
    await ds.ghosts.ensureIndex({ fieldName: 'userId', unique: true });
    await ds.memberships.ensureIndex({ fieldName: 'roomId' });
    await ds.memberships.ensureIndex({ fieldName: 'userId' });
    await ds.kv.ensureIndex({ fieldName: 'ns' });
    await ds.kv.ensureIndex({ fieldName: 'expiresAt', sparse: true });
  },
};

export default migration;
