// Small shared helpers: identifiers, timing, and Matrix ID parsing.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { preciseSleepUntil } from '../precise-timer';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// One randomBytes() call per 64 KiB instead of one per identifier: seeding thousands
// of rooms creates hundreds of thousands of event IDs, and the per-call crypto
// overhead dominated.
const POOL_SIZE = 64 * 1024;
let pool = Buffer.alloc(0);
let poolPos = POOL_SIZE;

function random(n: number): Buffer {
  if (poolPos + n > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolPos = 0;
  }
  const out = pool.subarray(poolPos, poolPos + n);
  poolPos += n;
  return out;
}

/** Random letters, like Synapse's room-ID and media-ID localparts. */
export function randomString(len: number): string {
  const bytes = random(len);
  let out = '';
  for (let i = 0; i < len; i++) out += ALNUM[bytes[i] % ALNUM.length];
  return out;
}

/** Room v4+ event IDs: `$` + 43 chars of URL-safe unpadded base64 (a SHA-256 in real servers). */
export function newEventId(): string {
  return '$' + random(32).toString('base64url');
}

export function newToken(prefix: string): string {
  return prefix + random(18).toString('base64url');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Resolve at `deadline` (a `performance.now()` time) to within ~0.1 ms. A bare setTimeout fires
 * 0.2–1 ms late (libuv counts whole milliseconds), which would make an emulated 2 ms latency a
 * 2.5 ms one; the helper thread of ../precise-timer waits out the time without spinning this one,
 * so the emulator's latency costs the machine no CPU (a busy-wait took a core from the bridge).
 */
export function sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  return preciseSleepUntil(performance.timeOrigin + deadline, signal);
}

/** Split `@local:server` / `#alias:server` / `!room:server` into parts; undefined when malformed. */
export function splitId(id: string, sigil: string): { local: string; server: string } | undefined {
  if (typeof id !== 'string' || id[0] !== sigil) return undefined;
  const colon = id.indexOf(':');
  if (colon < 2 || colon === id.length - 1) return undefined;
  return { local: id.slice(1, colon), server: id.slice(colon + 1) };
}

/** A JSON object (not an array or null): what a request body or event content must be. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The fields of a JSON value that may be anything, for reading them one by one: an object (or array)
 * as it is, anything else as having no fields — what `v?.[k]` gave on a malformed value.
 */
export function fieldsOf(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

/** A JSON value in an error message: strings as they are, anything else as JSON. */
export function describe(v: unknown): string {
  return typeof v === 'string' ? v : String(JSON.stringify(v));
}
