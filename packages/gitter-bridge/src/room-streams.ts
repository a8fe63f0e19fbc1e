/**
 * The Gitter rooms the bridge listens to: one RoomStream (gitter/stream-client.ts) per linked
 * Gitter room, read with the relay account's token, started when the first Matrix room is linked
 * to it and stopped when the last is unlinked. Each stream's cursor (the newest message id passed
 * on) is saved after every message, so after a restart the stream catches up from there and
 * nothing sent while the bridge was down is missed; the core's transaction IDs make a message
 * passed on twice (a crash between the send and the save) land once.
 */
import type { KeyValueRepository, Logger } from '@causeway/bridge-core';
import { RoomStream, type GitterMessage, type GitterRestClient, type StreamState } from './gitter';
import type { GitterConfig } from './config-schema';
import type { GitterMetrics } from './metrics';

const CURSOR_NS = 'stream-cursor';

export interface RoomStreamHandlers {
  onMessage(roomId: string, message: GitterMessage, source: 'stream' | 'catch-up'): Promise<void>;
  onRemove(roomId: string, messageId: string): Promise<void>;
  /** The server refused the room's stream for good (401, 403, 404). */
  onFatal(roomId: string, error: Error): void;
}

export class RoomStreams {
  private readonly streams = new Map<string, RoomStream>();
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
      backoff: { baseMs: this.cfg.stream.reconnect_base_ms, maxMs: this.cfg.stream.reconnect_max_ms },
      log: { debug: (m, f) => this.log.debug(m, f), warn: (m, f) => this.log.warn(m, f) },
      onMessage: async (message, source) => {
        if (source === 'catch-up') this.metrics.catchUpMessages.inc();
        await this.handlers.onMessage(roomId, message, source);
        await this.saveCursor(roomId, stream);
      },
      onRemove: (id) => this.handlers.onRemove(roomId, id),
      onState: (state: StreamState, detail) => {
        if (state === 'waiting') this.metrics.streamReconnects.inc({ reason: reasonLabel(detail?.reason) });
        if (state === 'live') void this.saveCursor(roomId, stream); // the starting point of a first connect
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
  }

  private async saveCursor(roomId: string, stream: RoomStream): Promise<void> {
    const id = stream.lastId;
    if (!id) return;
    try {
      await this.data.put(CURSOR_NS, roomId, id);
    } catch (err) {
      this.log.warn('could not save the Gitter stream cursor', { roomId, err: String(err) });
    }
  }
}

function reasonLabel(reason: string | undefined): string {
  if (!reason) return 'unknown';
  if (reason.startsWith('connect failed')) return 'connect_failed';
  return reason.replace(/\s+/g, '_');
}
