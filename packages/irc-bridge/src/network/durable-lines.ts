/**
 * Matrix → IRC lines kept in the core's durable queue (`ctx.outbox`) until they are written to
 * the IRC server's socket, so a crash of the bridge loses none (issue: a `kill -9` lost every
 * acknowledged message still waiting in a flood queue or a user's outbox).
 *
 * A Matrix event counts as handled (the core's journal) once its lines are stored here: the
 * handler stores them, one entry per IRC line (while the user's connection is down, the whole
 * message as one entry, split once the server's real line budget is known), before it returns.
 * Each entry is marked right before its line is written (OutgoingLine.beforeWrite; the marks of
 * a flood-queue burst share one store write) and removed once the line is in the socket, or once
 * it was given up and its sender told (outbox full or expired, connection failed for good).
 * Entries stay when the bridge stops, and a restart sends them first, in order, per user.
 *
 * An entry marked before the crash may have been written: it is sent again, like a `redelivered`
 * Matrix event (IRC has no idempotency key), so that one line may show twice. A redelivered event
 * whose lines are still stored is not stored again.
 */
import type { DurableQueue, LateEditRef, LateMessageRef, QueueRecord } from '@causeway/bridge-core';
import type { SendReport } from '../irc';

/** One stored line (or, for a connection that was down, one message). */
export interface StoredLine {
  kind: 'privmsg' | 'notice' | 'action';
  target: string;
  text: string;
  /** Tags of the message's first line (a reply's `+draft/reply`). */
  tags?: Record<string, string>;
  /** The channel's key, to join it again after a restart. */
  channelKey?: string;
  /** The Matrix event the line came from. */
  eventId: string;
  /** The sender's display name, for their nick template when a restart has to connect them again. */
  displayName?: string;
  /** Where the msgid of the line's echo is recorded (see IrcNetwork.recordEchoes): a message's part, or an edit. */
  echo?: { message: LateMessageRef; part: number } | { edit: LateEditRef };
}

export type StoredLineRecord = QueueRecord<StoredLine>;

export class DurableLines {
  /** Stored entries per Matrix event, to recognise a redelivered event. */
  private readonly byEvent = new Map<string, number>();
  private stopping = false;

  constructor(
    private readonly queue: DurableQueue<StoredLine>,
    private readonly network: string,
  ) {}

  private keyOf(userId: string): string {
    return `${this.network}\u0000${userId}`;
  }

  /** Stores a message's lines for a user's connection, in order; resolves once stored. */
  async store(userId: string, lines: StoredLine[]): Promise<StoredLineRecord[]> {
    const records = await this.queue.append(this.keyOf(userId), lines);
    for (const r of records) this.count(r.value.eventId, 1);
    return records;
  }

  /** Whether lines of this Matrix event are still stored: a redelivered event that was handled already. */
  holds(eventId: string): boolean {
    return this.byEvent.has(eventId);
  }

  /**
   * What this network's connections left unsent last time, per Matrix user, in order. Entries
   * `attempted` may have been written before the crash.
   */
  async restore(): Promise<Map<string, StoredLineRecord[]>> {
    const out = new Map<string, StoredLineRecord[]>();
    const prefix = this.keyOf('');
    for (const r of await this.queue.list()) {
      if (!r.key.startsWith(prefix)) continue;
      const userId = r.key.slice(prefix.length);
      let list = out.get(userId);
      if (!list) out.set(userId, (list = []));
      list.push(r);
      this.count(r.value.eventId, 1);
    }
    return out;
  }

  /**
   * The hooks that tie a line's sending to its entry: `beforeWrite` marks it (once), `settled`
   * removes it once written or given up, unless the bridge is stopping (then it stays for the
   * next start).
   */
  hooks(record: StoredLineRecord): { beforeWrite: () => Promise<void> | undefined; settled: (report: SendReport) => void } {
    let marked = record.attempted;
    return {
      beforeWrite: () => {
        if (marked) return undefined;
        marked = true;
        return this.queue.markAttempted([record]).catch(() => undefined); // logged by the queue; the line goes out anyway
      },
      settled: (report) => {
        if (!report.delivered && this.stopping) return;
        this.count(record.value.eventId, -1);
        void this.queue.remove([record]).catch(() => undefined); // logged by the queue; sent again after a restart at worst
      },
    };
  }

  /** The bridge is stopping: lines not written by now stay stored (their senders are not told). */
  stop(): void {
    this.stopping = true;
  }

  private count(eventId: string, by: number): void {
    const n = (this.byEvent.get(eventId) ?? 0) + by;
    if (n > 0) this.byEvent.set(eventId, n);
    else this.byEvent.delete(eventId);
  }
}
