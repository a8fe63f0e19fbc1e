/**
 * Timed receipts of stamped bench messages. A sender ends each message's text with
 * `<tag> <seq> <send time>`; whoever receives it (an emulator seeing the relay's send) records
 * latency = receipt − send time, and counts a sequence number seen twice as a duplicate.
 */
import { now } from './timing';

/** `tag seq t` at the end of a message text. */
export const STAMP = /(\S+) (\d+) (\d+\.\d+)$/;

/** The stamp to end message `seq` of `tag` with, sent now. */
export const stamp = (tag: string, seq: number): string => `${tag} ${seq} ${now().toFixed(3)}`;

export interface ReceiptStats {
  lat: number[];
  duplicated: number;
  /** Receipts with a lower sequence number than the previous one from the same source. */
  misordered: number;
  /** Time of the last receipt. */
  last: number;
}

interface Tally extends ReceiptStats {
  seen: Set<number>;
  lastSeq: Map<string, number>;
}

export class Receipts {
  private readonly tags = new Map<string, Tally>();

  /** Records the message if `text` carries a stamp; `source` is the ordered stream it came through (a room, a channel). */
  record(text: string, source = ''): void {
    const m = STAMP.exec(text);
    if (!m) return;
    const t = now();
    let r = this.tags.get(m[1]);
    if (!r) this.tags.set(m[1], (r = { lat: [], duplicated: 0, misordered: 0, last: 0, seen: new Set(), lastSeq: new Map() }));
    const seq = Number(m[2]);
    if (r.seen.has(seq)) {
      r.duplicated++;
      return;
    }
    r.seen.add(seq);
    r.lat.push(t - Number(m[3]));
    r.last = t;
    if (seq < (r.lastSeq.get(source) ?? -1)) r.misordered++;
    r.lastSeq.set(source, seq);
  }

  count(tag: string): number {
    return this.tags.get(tag)?.lat.length ?? 0;
  }

  /** The tag's figures; forgets the tag, so a long bench does not keep every sample. */
  take(tag: string): ReceiptStats {
    const r = this.tags.get(tag);
    this.tags.delete(tag);
    return { lat: r?.lat ?? [], duplicated: r?.duplicated ?? 0, misordered: r?.misordered ?? 0, last: r?.last ?? 0 };
  }
}
