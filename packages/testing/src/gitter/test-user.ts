// A Gitter community member for bridge specs: acts over the emulator's REST API with its own
// token, as the Gitter web client would (an emote is `/me`'s "@username text" with status:true,
// a thread reply carries parentId), so everything the bridge should see reaches the streams.
// Its requests are marked as test traffic: they are never rate limited nor counted.
import { GitterApiError } from './errors';
import type { GitterMessageJson, GitterRoomJson, GitterUserJson, VirtualUser } from './shapes';

/** Header that marks test-client requests (exempt from rate limits and request counts). */
export const TEST_CLIENT_HEADER = 'x-gitter-emulator-test-client';

export interface PostOptions {
  status?: boolean;
  parentId?: string;
  virtualUser?: VirtualUser;
}

export class GitterTestUser {
  constructor(
    private readonly restBaseUrl: string,
    readonly id: string,
    readonly username: string,
    readonly displayName: string,
    readonly token: string,
  ) {}

  post(roomId: string, text: string, opts: PostOptions = {}): Promise<GitterMessageJson> {
    return this.request('POST', `/rooms/${roomId}/chatMessages`, { text, ...opts });
  }

  /** What `/me waves` becomes in the Gitter client. */
  emote(roomId: string, action: string): Promise<GitterMessageJson> {
    return this.post(roomId, `@${this.username} ${action}`, { status: true });
  }

  reply(roomId: string, parentId: string, text: string): Promise<GitterMessageJson> {
    return this.post(roomId, text, { parentId });
  }

  edit(roomId: string, messageId: string, text: string): Promise<GitterMessageJson> {
    return this.request('PUT', `/rooms/${roomId}/chatMessages/${messageId}`, { text });
  }

  async delete(roomId: string, messageId: string): Promise<void> {
    await this.request('DELETE', `/rooms/${roomId}/chatMessages/${messageId}`);
  }

  joinByUri(uri: string): Promise<GitterRoomJson> {
    return this.request('POST', '/rooms', { uri });
  }

  joinById(roomId: string): Promise<GitterRoomJson> {
    return this.request('POST', `/user/${this.id}/rooms`, { id: roomId });
  }

  async leave(roomId: string): Promise<void> {
    await this.request('DELETE', `/rooms/${roomId}/users/${this.id}`);
  }

  history(roomId: string, query: Record<string, string | number> = {}): Promise<GitterMessageJson[]> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return this.request('GET', `/rooms/${roomId}/chatMessages${qs ? `?${qs}` : ''}`);
  }

  setTopic(roomId: string, topic: string): Promise<GitterRoomJson> {
    return this.request('PUT', `/rooms/${roomId}`, { topic });
  }

  members(roomId: string): Promise<GitterUserJson[]> {
    return this.request('GET', `/rooms/${roomId}/users?limit=100`);
  }

  /** Any call; non-2xx answers throw GitterApiError with the status and the server's error text. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.restBaseUrl + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: 'application/json',
        [TEST_CLIENT_HEADER]: '1',
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) {
      let error = text;
      try {
        error = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        /* not JSON */
      }
      throw new GitterApiError(res.status, error);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
