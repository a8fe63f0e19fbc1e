// The non-API HTTP paths around files: the upload URL (raw or multipart bytes, answered
// "OK - <size>"), `url_private` / `url_private_download` (bytes only with an
// `Authorization: Bearer` token that may see the file; otherwise, like Slack, a redirect to the
// sign-in page, whose HTML is what a client that forgot the header ends up with), and avatars
// (public, like Slack's CDN).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseBody } from './body';
import { SlackApiError } from './errors';
import type { FileActions } from './file-actions';
import type { SlackState } from './state';

export interface DownloadRecord {
  fileId: string;
  served: boolean;
  at: number;
}

const SIGNIN_HTML =
  '<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body><h1>Sign in to your workspace</h1></body></html>';

export class FileRoutes {
  readonly downloads: DownloadRecord[] = [];

  constructor(
    private state: SlackState,
    private files: FileActions,
  ) {}

  /** Serves the request if the path is one of ours; answers false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer): boolean {
    const method = req.method ?? 'GET';
    let m = /^\/upload\/v1\/([0-9a-f]+)$/.exec(path);
    if (m && method === 'POST') {
      this.upload(req, res, m[1], raw);
      return true;
    }
    m = /^\/files-pri\/(T[A-Z0-9]+)-(F[A-Z0-9]+)\/(download\/)?[^/]+$/.exec(path);
    if (m && (method === 'GET' || method === 'HEAD')) {
      this.download(req, res, m[1], m[2], Boolean(m[3]));
      return true;
    }
    m = /^\/avatars\/([A-Za-z0-9_-]+)$/.exec(path);
    if (m && (method === 'GET' || method === 'HEAD')) {
      const avatar = this.state.avatars.get(m[1]);
      if (!avatar) send(res, 404, 'text/plain', Buffer.from('not found'));
      else send(res, 200, avatar.contentType, avatar.data, method === 'HEAD');
      return true;
    }
    if (path === '/signin' && method === 'GET') {
      send(res, 200, 'text/html; charset=utf-8', Buffer.from(SIGNIN_HTML));
      return true;
    }
    return false;
  }

  private upload(req: IncomingMessage, res: ServerResponse, uploadId: string, raw: Buffer): void {
    let data = raw;
    try {
      const body = parseBody(req.headers['content-type'], raw);
      if (body.kind === 'multipart') {
        const part = body.files[0];
        if (!part) {
          send(res, 400, 'text/plain', Buffer.from('no file part'));
          return;
        }
        data = part.data;
      }
    } catch (err) {
      if (!(err instanceof SlackApiError)) throw err;
      send(res, 400, 'text/plain', Buffer.from('malformed upload'));
      return;
    }
    const file = this.files.receive(uploadId, Buffer.from(data));
    if (!file) send(res, 404, 'text/plain', Buffer.from('upload not found'));
    else send(res, 200, 'text/plain; charset=utf-8', Buffer.from(`OK - ${data.length}`));
  }

  private download(req: IncomingMessage, res: ServerResponse, teamId: string, fileId: string, attachment: boolean): void {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const token = m ? this.state.tokens.get(m[1]) : undefined;
    const file = this.files.download(token, teamId, fileId);
    this.downloads.push({ fileId, served: Boolean(file), at: Date.now() });
    if (!file) {
      res.writeHead(302, { location: `/signin?redir=${encodeURIComponent(req.url ?? '/')}`, 'content-length': '0' });
      res.end();
      return;
    }
    const headers: Record<string, string> = {};
    if (attachment) headers['content-disposition'] = `attachment; filename="${file.name.replace(/["\\\r\n]/g, '_')}"`;
    send(res, 200, file.mimetype, file.data!, req.method === 'HEAD', headers);
  }
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  data: Buffer,
  headOnly = false,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(data.length), ...extra });
  res.end(headOnly ? undefined : data);
}
