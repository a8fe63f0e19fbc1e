// Messages sent while a user's connection is down wait here, bounded in size and age, and are
// flushed in order on reconnect. Anything that cannot be delivered is settled with a reason
// (queue full, expired, fatal disconnect, client released): never dropped silently (MAI #1724).
import type { MessageKind } from './line-splitter';
import type { OutgoingLine, SendOptions, SendReport } from './connection-types';

export type OutboxEntry =
  | {
      type: 'message';
      kind: MessageKind;
      target: string;
      text: string;
      opts?: SendOptions;
      createdAt: number;
      settle: (report: SendReport) => void;
    }
  | {
      /** Lines already split and queued on a connection that then dropped. */
      type: 'lines';
      lines: OutgoingLine[];
      createdAt: number;
    };

export interface OutboxOptions {
  /** Max entries held (default 100). */
  maxEntries?: number;
  /** Entries older than this are not sent (default 5 min): stale chat is worse than a failure notice. */
  maxAgeMs?: number;
  now?: () => number;
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(opts: OutboxOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 100;
    this.maxAgeMs = opts.maxAgeMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Appends a message; if full, the new message is refused (keeps what is queued in order). */
  pushMessage(kind: MessageKind, target: string, text: string, settle: (r: SendReport) => void, opts?: SendOptions): void {
    if (this.entries.length >= this.maxEntries) {
      settle({ delivered: false, lines: 0, sent: 0, reason: 'Too many messages are waiting for the IRC connection.', queueDelayMs: 0 });
      return;
    }
    this.entries.push({ type: 'message', kind, target, text, ...(opts ? { opts } : {}), createdAt: opts?.queuedAt ?? this.now(), settle });
  }

  /** Puts lines from a dropped connection in front: they were sent before anything queued here. */
  unshiftLines(lines: OutgoingLine[]): void {
    if (lines.length === 0) return;
    this.entries.unshift({ type: 'lines', lines, createdAt: Math.min(...lines.map((l) => l.createdAt)) });
  }

  /** Removes and returns all entries still young enough; expired ones are settled as failed. */
  takeFresh(): OutboxEntry[] {
    const cutoff = this.now() - this.maxAgeMs;
    const all = this.entries;
    this.entries = [];
    const fresh: OutboxEntry[] = [];
    for (const e of all) {
      if (e.createdAt < cutoff) fail(e, 'The message waited too long for the IRC connection and was not sent.');
      else fresh.push(e);
    }
    return fresh;
  }

  /** Settles every entry as not delivered. */
  failAll(reason: string): void {
    const all = this.entries;
    this.entries = [];
    for (const e of all) fail(e, reason);
  }

  /** Fails entries that have aged out while still waiting (called periodically). */
  expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    const keep: OutboxEntry[] = [];
    for (const e of this.entries) {
      if (e.createdAt < cutoff) fail(e, 'The message waited too long for the IRC connection and was not sent.');
      else keep.push(e);
    }
    this.entries = keep;
  }
}

function fail(e: OutboxEntry, reason: string): void {
  if (e.type === 'message') e.settle({ delivered: false, lines: 0, sent: 0, reason, queueDelayMs: 0 });
  else for (const l of e.lines) l.settle({ ok: false, reason });
}
