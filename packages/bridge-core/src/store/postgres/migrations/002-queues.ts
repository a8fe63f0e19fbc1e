/**
 * Durable queues (QueueRepository): one row per queued value. `seq` is an identity column, so
 * entries are ordered by when they were inserted and a seq is never handed out twice. `value` is
 * JSON kept as text, not jsonb: jsonb refuses the `\u0000` escape a JSON string may hold. Queue
 * names and keys are escaped like kv keys (U+0000 cannot be stored in text) and use the "C"
 * collation; the index serves both a key's queue in order and a whole queue in order.
 */
import type { PgMigration } from './types';

const migration: PgMigration = {
  version: 2,
  name: 'queues',
  async up(client) {
    await client.query(`
      CREATE TABLE queue_entries (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        queue       text COLLATE "C" NOT NULL,
        key         text COLLATE "C" NOT NULL,
        value       text NOT NULL,
        created_at  bigint NOT NULL,
        attempted   boolean NOT NULL DEFAULT false
      );
      CREATE INDEX queue_entries_queue_idx ON queue_entries (queue, key, seq);
      CREATE INDEX queue_entries_order_idx ON queue_entries (queue, seq);
    `);
  },
};

export default migration;
