/**
 * Indexes for the hot lookups. Uniqueness of the natural keys is carried by
 * `_id` (NeDB always keeps a unique index on it):
 *   portals `_id` = roomId · ghosts `_id` = ghostKeyString(key) ·
 *   messages `_id` = roomId\0eventId\0part · intents `_id` = userId ·
 *   memberships `_id` = roomId\0userId · kv `_id` = namespace\0key.
 * The secondary unique index is ghost `userId`. NeDB persists index
 * definitions in the datafile and rebuilds them on every load, so this only
 * needs to run once; `ensureIndex` is idempotent anyway.
 */
import type { NedbMigration } from './types';

const migration: NedbMigration = {
  version: 1,
  name: 'indexes',
  async up({ datastores: ds }) {
    await ds.portals.ensureIndex({ fieldName: 'k' }); // portalKeyString(key), for getByKey
    await ds.portals.ensureIndex({ fieldName: 'network' });
    await ds.ghosts.ensureIndex({ fieldName: 'userId', unique: true });
    await ds.messages.ensureIndex({ fieldName: 'ev' }); // roomId\0eventId
    await ds.messages.ensureIndex({ fieldName: 'rk' }); // portalKeyString(portal)\0remoteId
    await ds.messages.ensureIndex({ fieldName: 'timestamp' });
    await ds.memberships.ensureIndex({ fieldName: 'roomId' });
    await ds.memberships.ensureIndex({ fieldName: 'userId' });
    await ds.kv.ensureIndex({ fieldName: 'ns' });
    await ds.kv.ensureIndex({ fieldName: 'expiresAt', sparse: true });
  },
};

export default migration;
