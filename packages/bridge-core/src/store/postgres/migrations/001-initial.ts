/**
 * The initial schema. Remote keys are stored as separate columns (a missing
 * receiver is ''), not as portalKeyString(): PostgreSQL text cannot hold the
 * NUL separator it uses. Timestamps are epoch milliseconds (bigint), as in the
 * interface. kv keys use the "C" collation so prefix LIKE and ORDER BY use the
 * primary key index and sort by byte order.
 */
import type { PgMigration } from './types';

const migration: PgMigration = {
  version: 1,
  name: 'initial',
  async up(client) {
    await client.query(`
      CREATE TABLE portals (
        room_id     text PRIMARY KEY,
        network     text NOT NULL,
        remote_id   text NOT NULL,
        receiver    text NOT NULL DEFAULT '',
        kind        text NOT NULL CHECK (kind IN ('portal', 'plumbed', 'dm')),
        dm_user     text,
        data        jsonb,
        created_at  bigint NOT NULL
      );
      CREATE INDEX portals_key_idx ON portals (network, remote_id, receiver);
      CREATE INDEX portals_kind_idx ON portals (kind);

      CREATE TABLE ghosts (
        network        text NOT NULL,
        remote_id      text NOT NULL,
        user_id        text NOT NULL,
        display_name   text,
        avatar_mxc     text,
        avatar_source  text,
        data           jsonb,
        PRIMARY KEY (network, remote_id),
        CONSTRAINT ghosts_user_id_key UNIQUE (user_id)
      );

      CREATE TABLE messages (
        room_id         text NOT NULL,
        event_id        text NOT NULL,
        part            integer NOT NULL,
        network         text NOT NULL,
        remote_channel  text NOT NULL,
        receiver        text NOT NULL DEFAULT '',
        remote_id       text NOT NULL,
        sender          text NOT NULL,
        ts              bigint NOT NULL,
        body            text,
        PRIMARY KEY (room_id, event_id, part)
      );
      CREATE INDEX messages_remote_idx ON messages (network, remote_channel, receiver, remote_id);
      CREATE INDEX messages_ts_idx ON messages (ts);

      CREATE TABLE intents (
        user_id       text PRIMARY KEY,
        registered    boolean NOT NULL,
        display_name  text,
        avatar_url    text
      );

      CREATE TABLE memberships (
        room_id     text NOT NULL,
        user_id     text NOT NULL,
        membership  text NOT NULL CHECK (membership IN ('join', 'invite', 'leave', 'ban')),
        PRIMARY KEY (room_id, user_id)
      );
      CREATE INDEX memberships_joined_idx ON memberships (user_id, room_id) WHERE membership = 'join';

      CREATE TABLE kv (
        namespace   text NOT NULL,
        key         text COLLATE "C" NOT NULL,
        value       jsonb NOT NULL,
        expires_at  bigint,
        PRIMARY KEY (namespace, key)
      );
      CREATE INDEX kv_expires_idx ON kv (expires_at) WHERE expires_at IS NOT NULL;
    `);
  },
};

export default migration;
