/**
 * Timed receipts of stamped bench messages. A sender ends each message's text with
 * `<tag> <seq> <send time>`; whoever receives it (an emulator seeing the relay's send) records
 * latency = receipt − send time, and counts a sequence number seen twice as a duplicate.
 */
import { now } from './timing';

/** `tag seq t` at the end of a message text. */
const STAMP = /(\S+) (\d+) (\d+\.\d+)$/;

/** The stamp to end message `seq` of `tag` with, sent now. */
export const stamp = (tag: string, seq: number): string => `${tag} ${seq} ${now().toFixed(3)}`;

/** The stamp at the end of `text`, if it carries one: its tag, sequence number and send time. */
export function parseStamp(text: string): { tag: string; seq: number; sentAt: number } | undefined {
  const m = STAMP.exec(text);
  return m ? { tag: m[1], seq: Number(m[2]), sentAt: Number(m[3]) } : undefined;
}

export interface ReceiptStats {
  lat: number[];
  duplicated: number;
  /** Receipts with a lower sequence number than the previous one from the same source. */
  misordered: number;
  /** Time of the last receipt. */
  last: number;
  /** `[seq, receipt time]` of each first receipt, in order, when the Receipts keep them (to pair lines across receivers). */
  at?: Array<[number, number]>;
}

interface Tally extends ReceiptStats {
  at: Array<[number, number]>;
  seen: Set<number>;
  lastSeq: Map<string, number>;
}

export class Receipts {
  private readonly tags = new Map<string, Tally>();

  /** `arrivals`: keep each receipt's time by sequence number too (`at`). */
  constructor(private readonly arrivals = false) {}

  /** Records the message if `text` carries a stamp; `source` is the ordered stream it came through (a room, a channel). */
  record(text: string, source = ''): void {
    const s = parseStamp(text);
    if (!s) return;
    const t = now();
    let r = this.tags.get(s.tag);
    if (!r) this.tags.set(s.tag, (r = { lat: [], at: [], duplicated: 0, misordered: 0, last: 0, seen: new Set(), lastSeq: new Map() }));
    if (r.seen.has(s.seq)) {
      r.duplicated++;
      return;
    }
    r.seen.add(s.seq);
    r.lat.push(t - s.sentAt);
    if (this.arrivals) r.at.push([s.seq, t]);
    r.last = t;
    if (s.seq < (r.lastSeq.get(source) ?? -1)) r.misordered++;
    r.lastSeq.set(source, s.seq);
  }

  count(tag: string): number {
    return this.tags.get(tag)?.lat.length ?? 0;
  }

  /** The tag's figures; forgets the tag, so a long bench does not keep every sample. */
  take(tag: string): ReceiptStats {
    const r = this.tags.get(tag);
    this.tags.delete(tag);
    const stats: ReceiptStats = { lat: r?.lat ?? [], duplicated: r?.duplicated ?? 0, misordered: r?.misordered ?? 0, last: r?.last ?? 0 };
    if (this.arrivals) stats.at = r?.at ?? [];
    return stats;
  }
}
