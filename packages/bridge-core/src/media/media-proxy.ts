/**
 * The media proxy: how a remote network's users open Matrix media.
 *
 * Since Matrix v1.11 homeservers serve new media only to authenticated
 * requests, so a bridge cannot hand IRC or Slack users a raw homeserver URL.
 * Instead the core serves `GET /_causeway/media/v1/{server}/{mediaId}/{expiry}/{sig}/{name}`
 * on the appservice port: the signature (HMAC-SHA256 over server, media ID,
 * expiry and file name, with a key generated once and kept in the store) is the
 * only credential, so links cannot be forged, pointed at other media or made to
 * serve the file under another name, and the proxy downloads with the bridge's
 * own token. Links made before the name was signed still open, under the name
 * the homeserver has for the file (never the one in such a link).
 *
 * Served bytes are never rendered as active content: a strict CSP, nosniff, and
 * anything but plain images, audio, video and text is sent as an attachment.
 * Every header is built to be valid whatever the file's name and type
 * (content-disposition.ts). What anyone with links can make it cost is bounded
 * by ProxyDownloads.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AppserviceServer, RouteContext } from '../appservice/http-server';
import type { KeyValueRepository } from '../store/store';
import type { MediaClient } from '../matrix/media';
import type { Logger } from '../logging/logger';
import { MatrixError } from '../util/matrix-error';
import { secureCompare } from '../util/secure-compare';
import { ProxyDownloads } from './proxy-downloads';
import { contentDisposition, wellFormed } from './content-disposition';

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
    const fileName = wellFormed(name) || 'file';
    const sig = this.sign(m[1], m[2], expiry, fileName);
    const base = this.opts.publicUrl.replace(/\/+$/, '');
    return `${base}/_causeway/media/v1/${encodeURIComponent(m[1])}/${m[2]}/${expiry}/${sig}/${encodeURIComponent(fileName)}`;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The signature of a link: what it serves, the file name included. */
  private sign(server: string, mediaId: string, expiry: number, name: string): string {
    return this.hmac(`name\u0000${server}\u0000${mediaId}\u0000${expiry}\u0000${name}`);
  }

  /** The signature of links made before the name was signed: server, media ID and expiry only. */
  private legacySign(server: string, mediaId: string, expiry: number): string {
    return this.hmac(`${server}\u0000${mediaId}\u0000${expiry}`);
  }

  private hmac(input: string): string {
    if (!this.key) throw new Error('MediaProxy used before init()');
    return createHmac('sha256', this.key).update(input).digest('base64url').slice(0, 32);
  }

  private async serve(ctx: RouteContext): Promise<void> {
    const { server, mediaId, expiry, sig, name } = ctx.params;
    const exp = Number(expiry);
    if (!/^[A-Za-z0-9_-]+$/.test(mediaId) || !Number.isInteger(exp)) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown media link');
    // The name the link may serve the file as: its own when signed, else (an old link) the homeserver's.
    let signedName: string | undefined;
    if (secureCompare(sig, this.sign(server, mediaId, exp, name))) signedName = name;
    else if (!secureCompare(sig, this.legacySign(server, mediaId, exp))) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown media link');
    if (exp !== 0 && exp * 1000 < this.now()) throw new MatrixError(410, 'M_EXPIRED', 'This media link has expired');
    let media;
    try {
      media = await this.downloads.get(`mxc://${server}/${mediaId}`);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === 'M_LIMIT_EXCEEDED') throw err; // busy: 503 with Retry-After
      const status = err instanceof MatrixError && err.status === 404 ? 404 : 502;
      ctx.log.warn('media proxy download failed', { server, mediaId, err: String(err) });
      throw new MatrixError(
        status,
        status === 404 ? 'M_NOT_FOUND' : 'M_UNKNOWN',
        status === 404 ? 'Media not found' : 'Could not fetch the media',
      );
    }
    const inline = INLINE_TYPES.exec(media.mimetype ?? '');
    // The homeserver's type as given only when it is plain printable ASCII; else its bare type.
    const type = !inline ? 'application/octet-stream' : /^[\x20-\x7e]+$/.test(media.mimetype!) ? media.mimetype! : inline[1];
    ctx.res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': String(media.data.length),
      'Content-Disposition': contentDisposition(inline ? 'inline' : 'attachment', signedName ?? media.filename ?? 'file'),
      'Content-Security-Policy': "sandbox; default-src 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': exp === 0 ? 'public, max-age=31536000, immutable' : 'private, max-age=3600',
    });
    ctx.res.end(media.data);
  }
}
