/**
 * The Gitter rooms the bridge listens to: one RoomStream (gitter/stream-client.ts) per linked
 * Gitter room, read with the relay account's token, started when the first Matrix room is linked
 * to it and stopped when the last is unlinked. Each stream's cursor (the newest message id applied
 * on Matrix) is saved as messages are applied (at most every half second), so after a restart the
 * stream catches up from there and nothing sent while the bridge was down is missed; the core's
 * transaction IDs make a message passed on twice (a crash before the cursor was saved) land once.
 * Saved next to it, at most every two seconds: the versions applied of the room's newest messages
 * (and which were deleted), so the catch-up after a restart can tell edits and deletions made on
 * Gitter while the bridge was down (RoomStream's recheck). Both record what was applied, not merely
 * received: a crash between the two makes the next run pass it on again rather than skip it.
 */
import type { KeyValueRepository, Logger } from '@causeway/bridge-core';
import {
  messageVersion,
  RoomStream,
  SeenVersions,
  type GitterMessage,
  type GitterRestClient,
  type MessageSource,
  type SeenEntry,
  type StreamState,
} from './gitter';
import type { GitterConfig } from './config-schema';
import type { GitterMetrics } from './metrics';
import { retryDelay } from './retry-delay';

const CURSOR_NS = 'stream-cursor';
const SEEN_NS = 'stream-seen';
/**
 * Newest messages whose applied version is saved per room: twice the recheck window (100), as
 * thread replies and deleted messages, which that page does not list, take places too.
 */
const SEEN_SAVED = 200;

/** Messages of one room queued for Matrix and not yet applied, at most (then the stream waits). */
const MAX_IN_FLIGHT = 256;
/** Shortest time between two writes of one room's cursor. */
const CURSOR_WRITE_MS = 500;
/**
 * Shortest time between two writes of one room's applied versions. The snapshot is the room's
 * 200 newest messages (about 15 KB): written with every cursor write, it was the largest part of
 * the stream's bookkeeping in a CPU profile of bench/gitter.ts. What a crash loses of it is only the
 * edits and deletions, made while the bridge was down, of messages applied in its last two seconds.
 */
const SEEN_WRITE_MS = 2000;

export interface RoomStreamHandlers {
  /**
   * Queues a message for Matrix; resolves once queued (the order is then fixed), with its being
   * applied, or nothing when it was dropped (an echo). `applied` is wrapped: a promise resolved
   * with a promise would wait for it, pacing the stream by one apply per message.
   */
  onMessage(roomId: string, message: GitterMessage, source: MessageSource): Promise<{ applied: Promise<void> } | void>;
  onRemove(roomId: string, messageId: string, author?: string): Promise<void>;
  /** The server refused the room's stream for good (401, 403, 404). */
  onFatal(roomId: string, error: Error): void;
}

export class RoomStreams {
  private readonly streams = new Map<string, RoomStream>();
  private readonly inFlight = new Map<string, Promise<void>[]>();
  private readonly cursors = new Map<string, string>();
  private readonly writtenCursors = new Map<string, string>();
  /** Per room, the versions applied on Matrix (what is saved next to the cursor). */
  private readonly applied = new Map<string, SeenVersions>();
  private readonly seenChanged = new Set<string>();
  private readonly seenWrittenAt = new Map<string, number>();
  private readonly writing = new Set<string>();
  private stopped = false;

  constructor(
    private readonly cfg: GitterConfig,
    private readonly rest: GitterRestClient,
    private readonly data: KeyValueRepository,
    private readonly handlers: RoomStreamHandlers,
    private readonly metrics: GitterMetrics,
    private readonly log: Logger,
  ) {}

  /** Whether the room's stream is connected and caught up. */
  live(roomId: string): boolean {
    return this.streams.get(roomId)?.state === 'live';
  }

  /** Streams by state, for the connections gauge. */
  states(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.streams.values()) out[s.state] = (out[s.state] ?? 0) + 1;
    return out;
  }

  async ensure(roomId: string): Promise<void> {
    if (this.stopped || this.streams.has(roomId)) return;
    const [saved, seen] = await Promise.all([
      this.data.get<string>(CURSOR_NS, roomId),
      this.data.get<SeenEntry[]>(SEEN_NS, roomId).catch((err: unknown) => {
        this.log.warn('could not read the saved Gitter message versions; edits made while down will be missed', {
          roomId,
          err: String(err),
        });
        return undefined;
      }),
    ]);
    if (this.stopped || this.streams.has(roomId)) return;
    if (saved && !this.cursors.has(roomId)) {
      this.cursors.set(roomId, saved);
      this.writtenCursors.set(roomId, saved);
    }
    const resumeSeen = Array.isArray(seen) ? seen : [];
    if (!this.applied.has(roomId)) this.applied.set(roomId, new SeenVersions(SEEN_SAVED * 2, resumeSeen));
    const stream: RoomStream = new RoomStream({
      streamBaseUrl: this.cfg.stream_base_url,
      roomId,
      rest: this.rest,
      ...(saved ? { resumeAfterId: saved } : {}),
      resumeSeen,
      stallTimeoutMs: this.cfg.stream.stall_timeout_ms,
      reconnectDelay: retryDelay({ baseMs: this.cfg.stream.reconnect_base_ms, maxMs: this.cfg.stream.reconnect_max_ms }),
      log: { debug: (m, f) => this.log.debug(m, f), warn: (m, f) => this.log.warn(m, f) },
      onMessage: async (message, source) => {
        if (source === 'catch-up') this.metrics.catchUpMessages.inc();
        const queued = await this.handlers.onMessage(roomId, message, source);
        await this.appliedLater(roomId, message, queued?.applied ?? Promise.resolve());
      },
      onRemove: async (id, author) => {
        await this.handlers.onRemove(roomId, id, author);
        this.seenOf(roomId).remove(id);
        this.seenChanged.add(roomId);
        this.save(roomId);
      },
      onState: (state: StreamState, detail) => {
        if (state === 'waiting') this.metrics.streamReconnects.inc({ reason: reasonLabel(detail?.reason) });
        if (state === 'live' && !this.inFlight.get(roomId)?.length && stream.lastId) this.cursorAt(roomId, stream.lastId); // a first connect's starting point
        this.log.debug('Gitter stream state', { roomId, state, ...detail });
      },
      onError: (err) => this.log.warn('Gitter stream problem', { roomId, err: err.message }),
      onFatal: (err) => {
        this.streams.delete(roomId);
        this.handlers.onFatal(roomId, err);
      },
    });
    this.streams.set(roomId, stream);
    stream.start();
  }

  async release(roomId: string): Promise<void> {
    const s = this.streams.get(roomId);
    this.streams.delete(roomId);
    await s?.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(all.map((s) => s.stop()));
    await this.settled();
  }

  /**
   * Messages are queued for Matrix without waiting for each to be applied (the core keeps their
   * order), so a burst is not paced by the homeserver's round trips. The cursor moves to a
   * message once it was applied (they are applied in order); a full window waits for the oldest.
   */
  private async appliedLater(roomId: string, message: GitterMessage, applied: Promise<void>): Promise<void> {
    let list = this.inFlight.get(roomId);
    if (!list) this.inFlight.set(roomId, (list = []));
    const passedOn = () => {
      this.seenOf(roomId).admit(message.id, messageVersion(message), {
        thread: Boolean(message.parentId),
        author: message.fromUser?.username,
      });
      this.seenChanged.add(roomId);
      this.cursorAt(roomId, message.id);
    };
    const done = applied.then(passedOn, passedOn); // failed for good: counted and logged by the core
    list.push(done);
    void done.then(() => list.splice(list.indexOf(done), 1));
    if (list.length >= MAX_IN_FLIGHT) await list[0];
  }

  private seenOf(roomId: string): SeenVersions {
    let seen = this.applied.get(roomId);
    if (!seen) this.applied.set(roomId, (seen = new SeenVersions(SEEN_SAVED * 2)));
    return seen;
  }

  /** The cursor moves forward to `messageId` (an edit of an older message leaves it where it is). */
  private cursorAt(roomId: string, messageId: string): void {
    const cur = this.cursors.get(roomId);
    if (cur === undefined || messageId > cur) this.cursors.set(roomId, messageId);
    this.save(roomId);
  }

  /**
   * Writes the room's cursor and applied versions when they changed, one write at a time, at most
   * every CURSOR_WRITE_MS (the newest wins): a crash loses at most that much of its progress, and
   * those messages are fetched again at the next start and land once (the core's transaction IDs
   * come from their ids).
   */
  private save(roomId: string): void {
    if (this.writing.has(roomId)) return;
    this.writing.add(roomId);
    void (async () => {
      try {
        for (let first = true; ; first = false) {
          if (!first && !this.stopped) await new Promise((r) => setTimeout(r, CURSOR_WRITE_MS));
          if ((await this.writeChanges(roomId)) === 'idle') return;
        }
      } finally {
        this.writing.delete(roomId);
      }
    })();
  }

  /** One write of what changed: 'idle' when nothing had, 'waiting' when the versions changed but are not due yet. */
  private async writeChanges(roomId: string): Promise<'wrote' | 'waiting' | 'idle'> {
    let wrote = false;
    const id = this.cursors.get(roomId);
    if (id !== undefined && id !== this.writtenCursors.get(roomId)) {
      await this.data
        .put(CURSOR_NS, roomId, id)
        .catch((err: unknown) => this.log.warn('could not save the Gitter stream cursor', { roomId, err: String(err) }));
      this.writtenCursors.set(roomId, id);
      wrote = true;
    }
    const seenDue = this.stopped || Date.now() - (this.seenWrittenAt.get(roomId) ?? 0) >= SEEN_WRITE_MS;
    if (this.seenChanged.has(roomId) && !seenDue) return wrote ? 'wrote' : 'waiting';
    if (this.seenChanged.delete(roomId)) {
      this.seenWrittenAt.set(roomId, Date.now());
      await this.data
        .put(SEEN_NS, roomId, this.seenOf(roomId).snapshot(SEEN_SAVED))
        .catch((err: unknown) => this.log.warn('could not save the Gitter message versions', { roomId, err: String(err) }));
      wrote = true;
    }
    return wrote ? 'wrote' : 'idle';
  }

  /** Resolves when every queued message was applied and its cursor written (stop, specs). */
  async settled(): Promise<void> {
    for (const list of this.inFlight.values()) await Promise.all([...list]);
    while (this.writing.size) await new Promise((r) => setTimeout(r, 5));
  }
}

function reasonLabel(reason: string | undefined): string {
  if (!reason) return 'unknown';
  if (reason.startsWith('connect failed')) return 'connect_failed';
  return reason.replace(/\s+/g, '_');
}
