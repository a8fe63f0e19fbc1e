/**
 * The Gitter rooms the bridge listens to: one RoomStream (gitter/stream-client.ts) per linked
 * Gitter room, read with the relay account's token, started when the first Matrix room is linked
 * to it and stopped when the last is unlinked. Each stream's cursor (the newest message id applied
 * on Matrix) is saved as messages are applied (at most every half second), so after a restart the
 * stream catches up from there and nothing sent while the bridge was down is missed; the core's
 * transaction IDs make a message passed on twice (a crash before the cursor was saved) land once.
 */
import type { KeyValueRepository, Logger } from '@causeway/bridge-core';
import { RoomStream, type GitterMessage, type GitterRestClient, type StreamState } from './gitter';
import type { GitterConfig } from './config-schema';
import type { GitterMetrics } from './metrics';
import { retryDelay } from './retry-delay';

const CURSOR_NS = 'stream-cursor';

/** Messages of one room queued for Matrix and not yet applied, at most (then the stream waits). */
const MAX_IN_FLIGHT = 256;
/** Shortest time between two writes of one room's cursor. */
const CURSOR_WRITE_MS = 500;

export interface RoomStreamHandlers {
  /**
   * Queues a message for Matrix; resolves once queued (the order is then fixed), with its being
   * applied, or nothing when it was dropped (an echo). `applied` is wrapped: a promise resolved
   * with a promise would wait for it, pacing the stream by one apply per message.
   */
  onMessage(roomId: string, message: GitterMessage, source: 'stream' | 'catch-up'): Promise<{ applied: Promise<void> } | void>;
  onRemove(roomId: string, messageId: string): Promise<void>;
  /** The server refused the room's stream for good (401, 403, 404). */
  onFatal(roomId: string, error: Error): void;
}

export class RoomStreams {
  private readonly streams = new Map<string, RoomStream>();
  private readonly inFlight = new Map<string, Promise<void>[]>();
  private readonly cursors = new Map<string, string>();
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
    const saved = await this.data.get<string>(CURSOR_NS, roomId);
    if (this.stopped || this.streams.has(roomId)) return;
    const stream: RoomStream = new RoomStream({
      streamBaseUrl: this.cfg.stream_base_url,
      roomId,
      rest: this.rest,
      ...(saved ? { resumeAfterId: saved } : {}),
      stallTimeoutMs: this.cfg.stream.stall_timeout_ms,
      reconnectDelay: retryDelay({ baseMs: this.cfg.stream.reconnect_base_ms, maxMs: this.cfg.stream.reconnect_max_ms }),
      log: { debug: (m, f) => this.log.debug(m, f), warn: (m, f) => this.log.warn(m, f) },
      onMessage: async (message, source) => {
        if (source === 'catch-up') this.metrics.catchUpMessages.inc();
        const queued = await this.handlers.onMessage(roomId, message, source);
        await this.appliedLater(roomId, message.id, queued?.applied ?? Promise.resolve());
      },
      onRemove: (id) => this.handlers.onRemove(roomId, id),
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
  private async appliedLater(roomId: string, messageId: string, applied: Promise<void>): Promise<void> {
    let list = this.inFlight.get(roomId);
    if (!list) this.inFlight.set(roomId, (list = []));
    const done = applied.then(
      () => this.cursorAt(roomId, messageId),
      () => this.cursorAt(roomId, messageId), // failed for good: counted and logged by the core
    );
    list.push(done);
    void done.then(() => list.splice(list.indexOf(done), 1));
    if (list.length >= MAX_IN_FLIGHT) await list[0];
  }

  /**
   * The cursor is `messageId` now. Written one write at a time, at most every CURSOR_WRITE_MS
   * (the newest wins): a crash loses at most that much of its progress, and those messages are
   * fetched again at the next start and land once (the core's transaction IDs come from their ids).
   */
  private cursorAt(roomId: string, messageId: string): void {
    this.cursors.set(roomId, messageId);
    if (this.writing.has(roomId)) return;
    this.writing.add(roomId);
    void (async () => {
      try {
        let written: string | undefined;
        for (;;) {
          if (written !== undefined && !this.stopped) await new Promise((r) => setTimeout(r, CURSOR_WRITE_MS));
          const id = this.cursors.get(roomId);
          if (id === undefined || id === written) return;
          await this.data
            .put(CURSOR_NS, roomId, id)
            .catch((err: unknown) => this.log.warn('could not save the Gitter stream cursor', { roomId, err: String(err) }));
          written = id;
        }
      } finally {
        this.writing.delete(roomId);
      }
    })();
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
