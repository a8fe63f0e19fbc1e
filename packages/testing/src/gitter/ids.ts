// Gitter object ids: 24 hex digits, like MongoDB ObjectIds. The first 8 hex digits are the
// creation time in seconds, so ids sort by time; bridges page history by comparing ids
// (`beforeId`/`afterId`), which only works if ids created later always compare greater. The
// middle part is fixed per emulator (as a real server process's is) and the tail counts up, so
// even ids made in the same second, or after a test moved its clock backwards, stay ordered.
import { randomBytes } from 'node:crypto';

const OBJECT_ID_RE = /^[0-9a-f]{24}$/;

export class ObjectIdFactory {
  private readonly middle = randomBytes(5).toString('hex');
  private counter = randomBytes(3).readUIntBE(0, 3) & 0x0fffff;
  private lastSeconds = 0;

  constructor(private readonly now: () => number) {}

  next(): string {
    const seconds = Math.max(Math.floor(this.now() / 1000), this.lastSeconds);
    this.counter = (this.counter + 1) & 0xffffff;
    // A wrapped counter would sort before earlier ids of the same second: move to the next second.
    const s = this.counter === 0 ? seconds + 1 : seconds;
    this.lastSeconds = s;
    return hex(s, 8) + this.middle + hex(this.counter, 6);
  }
}

/** The creation time (ms, second precision) an id encodes. */
export function idTime(id: string): number {
  return parseInt(id.slice(0, 8), 16) * 1000;
}

export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID_RE.test(value);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0').slice(-width);
}
