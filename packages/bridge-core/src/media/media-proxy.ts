/**
 * The media proxy: how a remote network's users open Matrix media.
 *
 * Since Matrix v1.11 homeservers serve new media only to authenticated
 * requests, so a bridge cannot hand IRC or Slack users a raw homeserver URL.
 * Instead the core serves `GET /_causeway/media/v1/{server}/{mediaId}/{expiry}/{sig}/{name}`
 * on the appservice port: the signature (HMAC-SHA256 over server, media ID and
 * expiry, with a key generated once and kept in the store) is the only
 * credential, so links cannot be forged or pointed at other media, and the
 * proxy downloads with the bridge's own token.
 *
 * Served bytes are never rendered as active content: a strict CSP, nosniff, and
 * anything but plain images, audio, video and text is sent as an attachment.
 * What anyone with links can make it cost is bounded by ProxyDownloads.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AppserviceServer, RouteContext } from '../appservice/http-server';
import type { KeyValueRepository } from '../store/store';
import type { MediaClient } from '../matrix/media';
import type { Logger } from '../logging/logger';
import { MatrixError } from '../util/matrix-error';
import { secureCompare } from '../util/secure-compare';
import { ProxyDownloads } from './proxy-downloads';

export interface MediaProxyOptions {
  /** Public base URL under which the appservice listener is reachable by remote users. */
  publicUrl: string;
  /** Link lifetime in seconds; 0 = links never expire. */
  linkLifetimeSeconds: number;
  maxBytes: number;
  /** Homeserver downloads at once (see ProxyDownloads). Default 4. */
  maxConcurrentDownloads?: number;
  /** Memory for recently served files, bytes. Default 32 MiB. */
  cacheBytes?: number;
  kv: KeyValueRepository;
  media: MediaClient;
  log: Logger;
  now?: () => number;
}

const ROUTE = '/_causeway/media/v1/:server/:mediaId/:expiry/:sig/:name';
const INLINE_TYPES = /^(image\/(png|jpeg|gif|webp|avif)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|text\/plain)(;|$)/i;
const KEY_NAMESPACE = 'media-proxy';

export class MediaProxy {
  private key?: Buffer;
  private readonly downloads: ProxyDownloads;

  constructor(private readonly opts: MediaProxyOptions) {
    this.downloads = new ProxyDownloads(
      { maxConcurrent: opts.maxConcurrentDownloads ?? 4, cacheBytes: opts.cacheBytes ?? 32 * 1024 * 1024 },
      (mxc) => opts.media.download(mxc, { maxBytes: opts.maxBytes }),
    );
  }

  /** Load (or create, once) the signing key. */
  async init(): Promise<void> {
    let stored = await this.opts.kv.get<string>(KEY_NAMESPACE, 'signing-key');
    if (!stored) {
      stored = randomBytes(32).toString('base64');
      await this.opts.kv.put(KEY_NAMESPACE, 'signing-key', stored);
    }
    this.key = Buffer.from(stored, 'base64');
  }

  register(server: AppserviceServer): void {
    // Public by design: the signature in the path is the credential.
    server.addRoute('GET', ROUTE, (ctx) => this.serve(ctx), { public: true });
  }

  /** A link remote users can open, or undefined for something that is not an mxc:// URI. */
  publicUrl(mxc: string, name = 'file'): string | undefined {
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
    if (!m) return undefined;
    const expiry = this.opts.linkLifetimeSeconds ? Math.floor(this.now() / 1000) + this.opts.linkLifetimeSeconds : 0;
    const sig = this.sign(m[1], m[2], expiry);
    const base = this.opts.publicUrl.replace(/\/+$/, '');
    return `${base}/_causeway/media/v1/${encodeURIComponent(m[1])}/${m[2]}/${expiry}/${sig}/${encodeURIComponent(name || 'file')}`;
  }

  private now(): number { return (this.opts.now ?? Date.now)(); }

  private sign(server: string, mediaId: string, expiry: number): string {
    if (!this.key) throw new Error('MediaProxy used before init()');
    return createHmac('sha256', this.key).update(`${server}\u0000${mediaId}\u0000${expiry}`).digest('base64url').slice(0, 32);
  }

  private async serve(ctx: RouteContext): Promise<void> {
    const { server, mediaId, expiry, sig, name } = ctx.params;
    const exp = Number(expiry);
    if (!/^[A-Za-z0-9_-]+$/.test(mediaId) || !Number.isInteger(exp) || !secureCompare(sig, this.sign(server, mediaId, exp))) {
      throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown media link');
    }
    if (exp !== 0 && exp * 1000 < this.now()) throw new MatrixError(410, 'M_EXPIRED', 'This media link has expired');
    let media;
    try {
      media = await this.downloads.get(`mxc://${server}/${mediaId}`);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === 'M_LIMIT_EXCEEDED') throw err; // busy: 503 with Retry-After
      const status = err instanceof MatrixError && err.status === 404 ? 404 : 502;
      ctx.log.warn('media proxy download failed', { server, mediaId, err: String(err) });
      throw new MatrixError(status, status === 404 ? 'M_NOT_FOUND' : 'M_UNKNOWN', status === 404 ? 'Media not found' : 'Could not fetch the media');
    }
    const type = media.mimetype ?? 'application/octet-stream';
    const inline = INLINE_TYPES.test(type);
    const safeName = (name || 'file').replace(/["\\\r\n]/g, '_');
    ctx.res.writeHead(200, {
      'Content-Type': inline ? type : 'application/octet-stream',
      'Content-Length': String(media.data.length),
      'Content-Disposition': `${inline ? 'inline' : 'attachment'}; filename="${safeName}"; filename*=UTF-8''${encodeURIComponent(name || 'file')}`,
      'Content-Security-Policy': "sandbox; default-src 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': exp === 0 ? 'public, max-age=31536000, immutable' : 'private, max-age=3600',
    });
    ctx.res.end(media.data);
  }
}
