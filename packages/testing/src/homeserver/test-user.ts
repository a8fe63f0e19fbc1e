// TestUser: a thin Matrix client for tests, talking to the emulator over real HTTP
// exactly like a client would. Its requests carry a marker header so the emulator
// can keep them out of request counts and fault injection (they are fixtures, not
// the system under test).
import * as http from 'node:http';
import type { EventContent, JsonObject } from '../spec-json';
import { fieldsOf } from './util';

export const FIXTURE_HEADER = 'x-emulator-test-client';

export class MatrixHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what} failed: ${status} ${errcode ?? ''} ${describeError(body)}`.trim());
  }
}

/** The `error` text of an error answer, as the message shows it ('' when there is none). */
function describeError(body: unknown): string {
  const error = fieldsOf(body).error;
  return error === undefined || error === null ? '' : typeof error === 'string' ? error : JSON.stringify(error);
}

/** The `errcode` of an error answer, when it has one. */
function errcodeOf(body: unknown): string | undefined {
  const errcode = fieldsOf(body).errcode;
  return typeof errcode === 'string' ? errcode : undefined;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32, noDelay: true });
let txnCounter = 0;
const txnPrefix = `t${process.pid}_${Date.now().toString(36)}_`;

export class TestUser {
  constructor(
    private baseUrl: string,
    readonly userId: string,
    readonly accessToken: string,
    readonly deviceId?: string,
    /** For appservice handles: the `?user_id=` to assert. */
    private assertUserId?: string,
  ) {}

  /**
   * Raw request. Paths starting with `/_matrix` are used as-is, anything else is
   * under `/_matrix/client/v3`. `body` may be an object (JSON) or a Buffer (sent raw).
   */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts: { headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<{ status: number; body: JsonObject; json: unknown; headers: http.IncomingHttpHeaders; raw: Buffer }> {
    let full = path.startsWith('/_matrix') ? path : '/_matrix/client/v3' + path;
    if (this.assertUserId) full += (full.includes('?') ? '&' : '?') + 'user_id=' + encodeURIComponent(this.assertUserId);
    const headers: Record<string, string> = { [FIXTURE_HEADER]: '1', ...opts.headers };
    if (opts.auth !== false) headers.authorization = `Bearer ${this.accessToken}`;
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(body)) payload = body;
    else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers['content-type'] ??= 'application/json';
    }
    if (payload) headers['content-length'] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req = http.request(this.baseUrl + full, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          let parsed: unknown = undefined;
          if ((res.headers['content-type'] ?? '').includes('json')) {
            try {
              parsed = JSON.parse(raw.toString('utf8'));
            } catch {
              parsed = undefined;
            }
          }
          const body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
          resolve({ status: res.statusCode ?? 0, body, json: parsed, headers: res.headers, raw });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  private async call(method: string, path: string, body?: unknown): Promise<JsonObject> {
    const r = await this.request(method, path, body);
    if (r.status < 200 || r.status >= 300) throw new MatrixHttpError(r.status, errcodeOf(r.json), r.json, `${method} ${path}`);
    return r.body;
  }

  /** A call whose answer carries an ID the caller wants (`room_id`, `event_id`). */
  private async callFor(field: string, method: string, path: string, body?: unknown): Promise<string> {
    const value = fieldsOf(await this.call(method, path, body))[field];
    if (typeof value !== 'string') throw new Error(`${method} ${path} answered without ${field}`);
    return value;
  }

  private static enc(s: string): string {
    return encodeURIComponent(s);
  }

  newTxnId(): string {
    return txnPrefix + ++txnCounter;
  }

  async createRoom(body: Record<string, unknown> = {}): Promise<string> {
    return this.callFor('room_id', 'POST', '/createRoom', body);
  }

  async join(roomIdOrAlias: string): Promise<string> {
    return this.callFor('room_id', 'POST', `/join/${TestUser.enc(roomIdOrAlias)}`, {});
  }

  async leave(roomId: string, reason?: string): Promise<void> {
    await this.call('POST', `/rooms/${TestUser.enc(roomId)}/leave`, reason ? { reason } : {});
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.call('POST', `/rooms/${TestUser.enc(roomId)}/invite`, { user_id: userId });
  }

  async kick(roomId: string, userId: string, reason?: string): Promise<void> {
    await this.call('POST', `/rooms/${TestUser.enc(roomId)}/kick`, { user_id: userId, ...(reason ? { reason } : {}) });
  }

  async ban(roomId: string, userId: string, reason?: string): Promise<void> {
    await this.call('POST', `/rooms/${TestUser.enc(roomId)}/ban`, { user_id: userId, ...(reason ? { reason } : {}) });
  }

  async unban(roomId: string, userId: string): Promise<void> {
    await this.call('POST', `/rooms/${TestUser.enc(roomId)}/unban`, { user_id: userId });
  }

  /** A string becomes an m.text message. */
  async sendMessage(roomId: string, content: string | Record<string, unknown>): Promise<string> {
    const c = typeof content === 'string' ? { msgtype: 'm.text', body: content } : content;
    return this.sendEvent(roomId, 'm.room.message', c);
  }

  async sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId = this.newTxnId()): Promise<string> {
    return this.callFor('event_id', 'PUT', `/rooms/${TestUser.enc(roomId)}/send/${TestUser.enc(type)}/${TestUser.enc(txnId)}`, content);
  }

  async sendState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    return this.callFor('event_id', 'PUT', `/rooms/${TestUser.enc(roomId)}/state/${TestUser.enc(type)}/${TestUser.enc(stateKey)}`, content);
  }

  async getState(roomId: string, type: string, stateKey = ''): Promise<EventContent> {
    return this.call('GET', `/rooms/${TestUser.enc(roomId)}/state/${TestUser.enc(type)}/${TestUser.enc(stateKey)}`);
  }

  async redact(roomId: string, eventId: string, reason?: string): Promise<string> {
    return this.callFor(
      'event_id',
      'PUT',
      `/rooms/${TestUser.enc(roomId)}/redact/${TestUser.enc(eventId)}/${this.newTxnId()}`,
      reason ? { reason } : {},
    );
  }

  async setDisplayName(name: string): Promise<void> {
    await this.call('PUT', `/profile/${TestUser.enc(this.userId)}/displayname`, { displayname: name });
  }

  async setAvatarUrl(url: string): Promise<void> {
    await this.call('PUT', `/profile/${TestUser.enc(this.userId)}/avatar_url`, { avatar_url: url });
  }

  async typing(roomId: string, typing: boolean, timeoutMs = 30000): Promise<void> {
    await this.call('PUT', `/rooms/${TestUser.enc(roomId)}/typing/${TestUser.enc(this.userId)}`, { typing, timeout: timeoutMs });
  }

  async sendReceipt(roomId: string, eventId: string, type = 'm.read'): Promise<void> {
    await this.call('POST', `/rooms/${TestUser.enc(roomId)}/receipt/${type}/${TestUser.enc(eventId)}`, {});
  }

  async createAlias(alias: string, roomId: string): Promise<void> {
    await this.call('PUT', `/directory/room/${TestUser.enc(alias)}`, { room_id: roomId });
  }

  /** Upload bytes; returns the mxc:// URI. */
  async upload(data: Buffer, contentType = 'application/octet-stream', filename?: string): Promise<string> {
    const q = filename ? `?filename=${TestUser.enc(filename)}` : '';
    const r = await this.request('POST', `/_matrix/media/v3/upload${q}`, data, { headers: { 'content-type': contentType } });
    const answer: unknown = r.body;
    if (r.status !== 200) throw new MatrixHttpError(r.status, errcodeOf(answer), answer, 'upload');
    const uri = fieldsOf(answer).content_uri;
    if (typeof uri !== 'string') throw new Error('upload answered without content_uri');
    return uri;
  }
}
