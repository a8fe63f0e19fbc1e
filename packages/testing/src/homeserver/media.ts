// Content repository store: uploaded items, the upload limit and the instant the legacy
// unauthenticated download routes were frozen (the routes are in media-routes.ts).
import { randomString } from './util';

export interface MediaItem {
  serverName: string;
  mediaId: string;
  data?: Buffer;
  contentType: string;
  filename?: string;
  uploader: string;
  createdAt: number;
  uploadedAt?: number;
}

export class MediaStore {
  private items = new Map<string, MediaItem>();
  /**
   * Legacy routes serve only media uploaded before this instant; undefined = not
   * frozen. Frozen at startup by default (so every upload is authenticated-only).
   */
  frozenAt: number | undefined;

  constructor(
    readonly serverName: string,
    public maxUploadBytes: number,
    frozen: boolean,
  ) {
    this.frozenAt = frozen ? 0 : undefined;
  }

  setLegacyFrozen(frozen: boolean): void {
    this.frozenAt = frozen ? Date.now() : undefined;
  }

  create(uploader: string, contentType = 'application/octet-stream'): MediaItem {
    const item: MediaItem = { serverName: this.serverName, mediaId: randomString(24), contentType, uploader, createdAt: Date.now() };
    this.items.set(item.mediaId, item);
    return item;
  }

  store(item: MediaItem, data: Buffer, contentType: string | undefined, filename: string | undefined): void {
    item.data = data;
    if (contentType) item.contentType = contentType;
    if (filename) item.filename = filename;
    item.uploadedAt = Date.now();
  }

  get(serverName: string, mediaId: string): MediaItem | undefined {
    if (serverName !== this.serverName) return undefined;
    return this.items.get(mediaId);
  }

  /** Bytes for an mxc URI, for test assertions. */
  bytes(mxc: string): Buffer | undefined {
    const m = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc);
    return m ? this.get(m[1], m[2])?.data : undefined;
  }
}
