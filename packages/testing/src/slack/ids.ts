// Slack-shaped identifiers and message timestamps. IDs are a type letter (T team, C channel,
// D DM, G group DM, U user, B bot, A app, F file, Ev event) followed by upper-case base-36; a
// `ts` is "<unix seconds>.<6-digit microseconds>" and strictly increases within its clock key
// (one key per conversation), since `(channel, ts)` is a message's identity and thread key.
import { randomBytes } from 'node:crypto';

export class IdMint {
  private counters = new Map<string, number>();

  /** Next ID for `prefix`, e.g. `C0A0000001`; unique per mint. */
  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}0A${n.toString(36).toUpperCase().padStart(7, '0')}`;
  }
}

/** Random lower-case hex, for token and ticket suffixes. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function formatTs(micros: number): string {
  const secs = Math.floor(micros / 1e6);
  return `${secs}.${String(micros - secs * 1e6).padStart(6, '0')}`;
}

/** Microseconds of a well-formed ts, undefined otherwise. */
export function parseTs(ts: string): number | undefined {
  const m = /^(\d{1,12})\.(\d{6})$/.exec(ts);
  return m ? Number(m[1]) * 1e6 + Number(m[2]) : undefined;
}

export class TsClock {
  private last = new Map<string, number>();

  constructor(private now: () => number = Date.now) {}

  /** A ts later than every earlier one under `key`, close to the wall clock. */
  next(key: string): string {
    const micros = Math.max(this.now() * 1000, (this.last.get(key) ?? 0) + 1);
    this.last.set(key, micros);
    return formatTs(micros);
  }
}
