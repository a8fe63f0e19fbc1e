// Ephemeral data (typing notifications, read receipts). Not part of the timeline;
// delivered to appservices that opted in (receive_ephemeral / MSC2409) and are
// interested in the room.
import type { AppserviceRegistry } from './appservices';
import { isInterestedInRoom } from './interest';
import type { Pusher } from './pusher';
import type { Room } from './rooms';

export class Ephemeral {
  private typingRooms = new Set<Room>();
  /** roomId -> userId -> last public receipt, for introspection. */
  readonly receipts = new Map<string, Map<string, { eventId: string; ts: number; type: string }>>();

  constructor(
    private appservices: AppserviceRegistry,
    private pusher: Pusher,
  ) {}

  setTyping(room: Room, userId: string, typing: boolean, timeoutMs: number): void {
    const old = room.typing.get(userId);
    if (old) clearTimeout(old);
    const wasTyping = !!old;
    if (typing) {
      const t = setTimeout(
        () => {
          room.typing.delete(userId);
          this.emitTyping(room);
        },
        Math.max(0, Math.min(timeoutMs, 120_000)),
      );
      t.unref();
      room.typing.set(userId, t);
      this.typingRooms.add(room);
    } else {
      room.typing.delete(userId);
    }
    if (typing || wasTyping) this.emitTyping(room);
  }

  private emitTyping(room: Room): void {
    this.emit(room, { type: 'm.typing', room_id: room.roomId, content: { user_ids: Array.from(room.typing.keys()) } });
  }

  receipt(room: Room, userId: string, type: string, eventId: string, threadId?: string): void {
    const ts = Date.now();
    let m = this.receipts.get(room.roomId);
    if (!m) this.receipts.set(room.roomId, (m = new Map<string, { eventId: string; ts: number; type: string }>()));
    m.set(userId, { eventId, ts, type });
    // Private receipts are never shared with anyone else, appservices included.
    if (type === 'm.read.private') return;
    const data: Record<string, unknown> = { ts };
    if (threadId) data.thread_id = threadId;
    this.emit(room, { type: 'm.receipt', room_id: room.roomId, content: { [eventId]: { [type]: { [userId]: data } } } });
  }

  private emit(room: Room, edu: Record<string, unknown>): void {
    for (const as of this.appservices.all()) {
      if (as.ephemeralKey && as.url && isInterestedInRoom(as, room)) this.pusher.enqueueEphemeral(as, edu);
    }
  }

  stop(): void {
    for (const room of this.typingRooms) {
      for (const t of room.typing.values()) clearTimeout(t);
      room.typing.clear();
    }
  }

  /** A restart: typing lives in memory only (receipts are stored and stay). */
  reset(): void {
    this.stop();
    this.typingRooms.clear();
  }
}
