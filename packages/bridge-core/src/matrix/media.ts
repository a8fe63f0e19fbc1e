/**
 * Matrix media for the bridge: uploads (checked against the server's
 * `m.upload.size`, fetched once and cached) and authenticated downloads.
 *
 * Downloads use `/_matrix/client/v1/media/download/{serverName}/{mediaId}`
 * (v1.11, needs the as_token). A homeserver older than that answers 404
 * M_UNRECOGNIZED or 405; the client then falls back to the deprecated
 * `/_matrix/media/v3/download/…` and remembers the answer for an hour. A 404
 * M_NOT_FOUND is "no such media" and is not a reason to fall back. Every
 * download is capped (`maxBytes`, checked on Content-Length and while reading).
 */
import { MatrixError } from '../util/matrix-error';
import { SingleFlight } from '../util/single-flight';
import type { MatrixHttpClient } from './http-client';

export interface UploadOptions {
  /** File name, sent as `?filename=`. */
  name?: string;
  mimetype?: string;
  /** Upload as this user (`?user_id=`); omit for the bot. */
  userId?: string;
  timeoutMs?: number;
}

export interface DownloadOptions {
  /** Refuse media larger than this (default: the client's `maxDownloadBytes`). */
  maxBytes?: number;
  userId?: string;
  timeoutMs?: number;
}

export interface DownloadedMedia {
  data: Buffer;
  mimetype?: string;
  filename?: string;
}

export interface MediaClientOptions {
  /** How long the server's upload limit is cached (default 1 h). */
  configTtlMs?: number;
  /** Default download cap (default 100 MiB). */
  maxDownloadBytes?: number;
}

/** Splits `mxc://server/mediaId`; throws on anything else. */
export function parseMxc(mxc: string): { serverName: string; mediaId: string } {
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
  if (!m) throw new MatrixError(400, 'M_INVALID_PARAM', `not a valid mxc:// URI: ${mxc}`);
  return { serverName: m[1], mediaId: m[2] };
}

function filenameFrom(disposition: string | string[] | undefined): string | undefined {
  const d = Array.isArray(disposition) ? disposition[0] : disposition;
  if (!d) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(d);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(d);
  return plain?.[1];
}

const NEGATIVE_TTL_MS = 60_000;

export class MediaClient {
  private limit: { value: number | undefined; expires: number } | undefined;
  private readonly limitFlight = new SingleFlight<'config', number | undefined>();
  private legacyDownloadUntil = 0;
  private readonly configTtlMs: number;
  readonly maxDownloadBytes: number;

  constructor(
    private readonly client: MatrixHttpClient,
    opts: MediaClientOptions = {},
  ) {
    this.configTtlMs = opts.configTtlMs ?? 3_600_000;
    this.maxDownloadBytes = opts.maxDownloadBytes ?? 100 * 1024 * 1024;
  }

  /** The server's `m.upload.size` in bytes (cached), or undefined when it does not say. */
  async uploadLimit(): Promise<number | undefined> {
    if (this.limit && this.limit.expires > Date.now()) return this.limit.value;
    return this.limitFlight.run('config', async () => {
      let value: number | undefined;
      let ok = true;
      try {
        value = await this.fetchLimit('/_matrix/client/v1/media/config', 'GET /media/config');
      } catch (err) {
        if (isUnrecognized(err)) {
          try {
            value = await this.fetchLimit('/_matrix/media/v3/config', 'GET /_matrix/media/v3/config');
          } catch {
            ok = false;
          }
        } else {
          ok = false;
        }
      }
      // A failed lookup is retried after a minute rather than blocking every upload.
      this.limit = { value, expires: Date.now() + (ok ? this.configTtlMs : NEGATIVE_TTL_MS) };
      return value;
    });
  }

  private async fetchLimit(path: string, endpoint: string): Promise<number | undefined> {
    const res = await this.client.request<Record<string, unknown>>('GET', path, { endpoint });
    const v = res['m.upload.size'];
    return typeof v === 'number' && v > 0 ? v : undefined;
  }

  /** Uploads bytes; resolves with the mxc:// URI. Throws 413 M_TOO_LARGE before sending anything too big. */
  async upload(data: Buffer | Uint8Array, opts: UploadOptions = {}): Promise<string> {
    const limit = await this.uploadLimit();
    if (limit !== undefined && data.byteLength > limit) {
      throw new MatrixError(413, 'M_TOO_LARGE', `file is ${data.byteLength} bytes; the homeserver accepts at most ${limit}`);
    }
    const res = await this.client.request<{ content_uri: string }>('POST', '/_matrix/media/v3/upload', {
      body: data,
      contentType: opts.mimetype ?? 'application/octet-stream',
      query: { filename: opts.name },
      userId: opts.userId,
      timeoutMs: opts.timeoutMs ?? 120_000,
      endpoint: 'POST /_matrix/media/v3/upload',
    });
    if (typeof res.content_uri !== 'string') throw new MatrixError(502, 'M_UNKNOWN', 'upload answer has no content_uri');
    return res.content_uri;
  }

  /** Downloads media with the as_token, falling back to the legacy route on old servers. */
  async download(mxc: string, opts: DownloadOptions = {}): Promise<DownloadedMedia> {
    const { serverName, mediaId } = parseMxc(mxc);
    const tail = `${encodeURIComponent(serverName)}/${encodeURIComponent(mediaId)}`;
    const common = {
      raw: true as const,
      maxBytes: opts.maxBytes ?? this.maxDownloadBytes,
      userId: opts.userId,
      timeoutMs: opts.timeoutMs ?? 120_000,
    };
    if (Date.now() >= this.legacyDownloadUntil) {
      try {
        const res = await this.client.request('GET', `/_matrix/client/v1/media/download/${tail}`, {
          ...common,
          endpoint: 'GET /media/download/{serverName}/{mediaId}',
        });
        return { data: res.body, mimetype: res.contentType, filename: filenameFrom(res.headers['content-disposition']) };
      } catch (err) {
        if (!isUnrecognized(err)) throw err;
        this.legacyDownloadUntil = Date.now() + this.configTtlMs;
      }
    }
    const res = await this.client.request('GET', `/_matrix/media/v3/download/${tail}`, {
      ...common,
      endpoint: 'GET /_matrix/media/v3/download/{serverName}/{mediaId}',
    });
    return { data: res.body, mimetype: res.contentType, filename: filenameFrom(res.headers['content-disposition']) };
  }
}

/** The server does not know the endpoint (as opposed to not knowing the media). */
function isUnrecognized(err: unknown): boolean {
  return (
    err instanceof MatrixError && (err.status === 405 || (err.errcode === 'M_UNRECOGNIZED' && (err.status === 404 || err.status === 400)))
  );
}
