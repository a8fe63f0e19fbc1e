// Finding a message we may already have posted. A POST whose answer was lost (connection cut,
// timeout, bridge restart mid-request) may or may not have created the message; sending it again
// could duplicate it. Gitter has no idempotency key, so the message is looked for in recent
// history by what identifies it: our own user, the exact text (and emote flag, thread), posted
// no earlier than when we queued it, and newer than the last message we know we created there.
import type { GitterRestClient } from './rest-client';
import type { GitterMessage } from './types';

export interface SentMessageLookup {
  roomId: string;
  /** The bridge's own Gitter user id. */
  userId: string;
  text: string;
  status?: boolean;
  /** Thread replies are not in the room's history: they are looked for in their thread. */
  parentId?: string;
  /** Epoch ms the send was queued; the message cannot be older (allowing for clock skew). */
  notBefore: number;
  /** The message must be newer than this id (the last one we created in the room), if known. */
  afterId?: string;
  /** Ids already accounted for (e.g. an identical text sent just before). */
  exclude?: ReadonlySet<string>;
}

export interface FindSentOptions {
  /** Difference allowed between our clock and the server's (default 2 min). */
  clockSkewMs?: number;
  /** Pages of 100 read at most, newest first (default 3). */
  maxPages?: number;
  signal?: AbortSignal;
}

/** The oldest matching message, or undefined when it was never created. */
export async function findSentMessage(
  client: GitterRestClient,
  lookup: SentMessageLookup,
  opts: FindSentOptions = {},
): Promise<GitterMessage | undefined> {
  const earliest = lookup.notBefore - (opts.clockSkewMs ?? 120_000);
  const maxPages = opts.maxPages ?? 3;
  const matches = (m: GitterMessage) =>
    m.fromUser?.id === lookup.userId &&
    m.text === lookup.text &&
    !!m.status === !!lookup.status &&
    (lookup.parentId === undefined || m.parentId === lookup.parentId) &&
    (lookup.afterId === undefined || m.id > lookup.afterId) &&
    Date.parse(m.sent) >= earliest &&
    !lookup.exclude?.has(m.id);
  let found: GitterMessage | undefined;
  let beforeId: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const query = { limit: 100, ...(beforeId ? { beforeId } : {}) };
    const batch = lookup.parentId
      ? await client.threadMessages(lookup.roomId, lookup.parentId, query, opts.signal)
      : await client.messages(lookup.roomId, query, opts.signal);
    // Newest first, so the last match seen is the oldest.
    for (let i = batch.length - 1; i >= 0; i--) if (matches(batch[i])) found = batch[i];
    const oldest = batch[0];
    if (batch.length < 100 || !oldest) break;
    if (Date.parse(oldest.sent) < earliest || (lookup.afterId !== undefined && oldest.id <= lookup.afterId)) break;
    beforeId = oldest.id;
  }
  return found;
}
