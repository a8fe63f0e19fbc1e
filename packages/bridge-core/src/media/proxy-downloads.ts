/**
 * What the public media proxy may cost the bridge. Its links are posted in busy channels and need
 * no login, so one link can be opened by hundreds of people at once, and anyone can open many:
 *
 * - concurrent requests for the same media share one download;
 * - recently served small files are answered from memory (bounded in bytes);
 * - at most `maxConcurrent` downloads run against the homeserver (each may hold up to the size cap
 *   in memory, and a homeserver connection shared with bridging); up to `maxWaiting` more wait
 *   for a slot, and beyond that a request is refused with 503 and Retry-After instead of queueing
 *   without bound.
 */
import type { DownloadedMedia } from '../matrix/media';
import { MatrixError } from '../util/matrix-error';
import { SingleFlight } from '../util/single-flight';

export interface ProxyDownloadLimits {
  /** Homeserver downloads at once. */
  maxConcurrent: number;
  /** Requests waiting for a slot before new ones are refused. Default 8 × maxConcurrent. */
  maxWaiting?: number;
  /** Memory for recently served files, bytes (0 = no cache). */
  cacheBytes: number;
  /** Largest file kept in the cache, bytes. Default cacheBytes / 16. */
  maxCachedFileBytes?: number;
}

export class ProxyDownloads {
  private readonly flights = new SingleFlight<string, DownloadedMedia>();
  private readonly cache = new Map<string, DownloadedMedia>(); // insertion order = LRU order
  private cachedBytes = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly maxWaiting: number;
  private readonly maxCachedFile: number;

  constructor(
    private readonly limits: ProxyDownloadLimits,
    private readonly download: (mxc: string) => Promise<DownloadedMedia>,
  ) {
    this.maxWaiting = limits.maxWaiting ?? limits.maxConcurrent * 8;
    this.maxCachedFile = limits.maxCachedFileBytes ?? Math.floor(limits.cacheBytes / 16);
  }

  /** The media, from memory, from a download already running, or from a new one when a slot is free. */
  get(mxc: string): Promise<DownloadedMedia> {
    const hit = this.cache.get(mxc);
    if (hit) {
      this.cache.delete(mxc);
      this.cache.set(mxc, hit);
      return Promise.resolve(hit);
    }
    return this.flights.run(mxc, async () => {
      await this.slot();
      try {
        const media = await this.download(mxc);
        this.remember(mxc, media);
        return media;
      } finally {
        this.release();
      }
    });
  }

  /** Downloads running now (for tests and metrics). */
  get active(): number {
    return this.running;
  }

  private slot(): Promise<void> {
    if (this.running < this.limits.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        new MatrixError(503, 'M_LIMIT_EXCEEDED', 'Too many media downloads at once; try again shortly', { retry_after_ms: 2000 }),
      );
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.running++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private remember(mxc: string, media: DownloadedMedia): void {
    const size = media.data.length;
    if (size > this.maxCachedFile || size > this.limits.cacheBytes) return;
    this.cache.set(mxc, media);
    this.cachedBytes += size;
    for (const [key, old] of this.cache) {
      if (this.cachedBytes <= this.limits.cacheBytes) break;
      this.cache.delete(key);
      this.cachedBytes -= old.data.length;
    }
  }
}
