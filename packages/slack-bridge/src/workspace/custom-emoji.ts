// A workspace's custom emoji (`emoji.list`, scope `emoji:read`), shown on Matrix as images: each
// image is fetched once and uploaded to the homeserver, and its mxc:// URI is cached for the run.
// Used for custom emoji in message text and for custom emoji reactions (the reaction key is then
// the mxc:// URI, as Matrix clients show image reactions). Any workspace member can add an emoji
// with any image URL, so images are fetched behind the core's address guard (fetchRemote); one
// that cannot be fetched stays `:name:` text.
import type { WebClient } from '@slack/web-api';
import type { Logger, MediaService } from '@causeway/bridge-core';
import { isStandardEmoji, resolveCustomEmoji } from '../slack';

const LIST_TTL_MS = 10 * 60_000;
const MAX_EMOJI_BYTES = 1024 * 1024;

export class CustomEmoji {
  private list?: { emoji: Record<string, unknown>; until: number };
  private readonly mxc = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly client: WebClient,
    private readonly media: MediaService,
    private readonly log: Logger,
  ) {}

  /** A custom emoji as an image on the homeserver, or Unicode for an alias of a standard one; undefined when unknown. */
  async resolve(name: string): Promise<{ mxc: string } | { unicode: string } | undefined> {
    if (isStandardEmoji(name)) return undefined;
    const found = resolveCustomEmoji(name, await this.emojiList());
    if (!found) return undefined;
    if (found.kind === 'unicode') return { unicode: found.unicode };
    let p = this.mxc.get(found.url);
    if (!p) {
      p = this.upload(found.name, found.url);
      this.mxc.set(found.url, p);
    }
    const mxc = await p;
    if (!mxc) this.mxc.delete(found.url);
    return mxc ? { mxc } : undefined;
  }

  private async emojiList(): Promise<Record<string, unknown>> {
    if (this.list && this.list.until > Date.now()) return this.list.emoji;
    try {
      const r = await this.client.emoji.list();
      this.list = { emoji: r.emoji ?? {}, until: Date.now() + LIST_TTL_MS };
    } catch (err) {
      this.log.warn('emoji.list failed', { err: String(err) });
      return this.list?.emoji ?? {};
    }
    return this.list.emoji;
  }

  private async upload(name: string, url: string): Promise<string | undefined> {
    try {
      const res = await this.media.fetchRemote(url, { maxBytes: MAX_EMOJI_BYTES, maxRedirects: 0, timeoutMs: 15_000 });
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
      const data = res.data;
      const mimetype = res.mimetype ?? 'image/png';
      if (!mimetype.startsWith('image/')) throw new Error(`not an image (${mimetype})`);
      return await this.media.upload(data, { name: `${name}.${mimetype.slice(6)}`, mimetype });
    } catch (err) {
      this.log.warn('custom emoji could not be fetched', { name, err: String(err) });
      return undefined;
    }
  }
}
