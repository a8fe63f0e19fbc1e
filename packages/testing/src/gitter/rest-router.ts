// The v1 REST API: the route table (method + path template → handler) and the handlers, which
// check what the caller may do and leave the rules to the model. Paths are relative to the REST
// base (`…/v1`); a route's key, "<METHOD> /v1/<template>", names it in request counts.
import { badRequest, forbidden, notFound } from './errors';
import type { GitterModel, RoomRecord } from './model';
import { userJson } from './shapes';

interface RestRequest {
  userId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

/** A handler's result when the answer is 204 with no body. */
export const NO_CONTENT = Symbol('204 No Content');

/** The JSON body to answer with, or NO_CONTENT. */
type Handler = (req: RestRequest) => unknown;

interface Route {
  method: string;
  segments: string[];
  key: string;
  handler: Handler;
  /** Only served when this returns true (optional extensions). */
  enabled?: () => boolean;
}

export interface RouteMatch {
  route: { key: string; handler: Handler };
  params: Record<string, string>;
}

export class RestRouter {
  private readonly routes: Route[] = [];

  constructor(m: GitterModel) {
    const features = () => m.config.features;
    const readable = (req: RestRequest): RoomRecord => {
      const room = m.room(req.params.roomId);
      m.assertCanRead(room, req.userId);
      return room;
    };
    const self = (req: RestRequest) => {
      if (req.params.userId !== req.userId) throw forbidden('You can only act for yourself');
    };
    const q = (req: RestRequest, name: string) => req.query.get(name) ?? undefined;

    this.add('GET', '/user', (req) => [userJson(m.user(req.userId))]);
    this.add('GET', '/user/{userId}/rooms', (req) => {
      self(req);
      return m.roomsOf(req.userId).map((r) => m.roomJson(r, req.userId));
    });
    this.add('POST', '/user/{userId}/rooms', (req) => {
      self(req);
      if (typeof req.body.id !== 'string') throw badRequest('id is required');
      const room = m.room(req.body.id);
      m.join(room, req.userId);
      return m.roomJson(room, req.userId);
    });
    this.add('GET', '/rooms', (req) => {
      const filter = q(req, 'q')?.toLowerCase();
      return m
        .roomsOf(req.userId)
        .filter((r) => !filter || r.name.toLowerCase().includes(filter) || (r.uri ?? '').toLowerCase().includes(filter))
        .map((r) => m.roomJson(r, req.userId));
    });
    this.add('POST', '/rooms', (req) => {
      if (typeof req.body.uri !== 'string' || !req.body.uri) throw badRequest('uri is required');
      const room = m.roomByUri(req.body.uri);
      if (!room) throw notFound('Room not found');
      m.join(room, req.userId);
      return m.roomJson(room, req.userId);
    });
    this.add('GET', '/rooms/{roomId}', (req) => m.roomJson(readable(req), req.userId));
    this.add('PUT', '/rooms/{roomId}', (req) => {
      const room = readable(req);
      m.updateRoom(room, req.userId, req.body);
      return m.roomJson(room, req.userId);
    });
    this.add('DELETE', '/rooms/{roomId}/users/{userId}', (req) => {
      m.removeMember(readable(req), req.userId, req.params.userId);
      return { success: true };
    });
    this.add('GET', '/rooms/{roomId}/users', (req) =>
      m.members(readable(req), { q: q(req, 'q'), skip: q(req, 'skip'), limit: q(req, 'limit') }),
    );
    const history = (req: RestRequest) => ({
      limit: q(req, 'limit'),
      beforeId: q(req, 'beforeId'),
      afterId: q(req, 'afterId'),
      aroundId: q(req, 'aroundId'),
      skip: q(req, 'skip'),
      q: q(req, 'q'),
    });
    this.add('GET', '/rooms/{roomId}/chatMessages', (req) =>
      m.history(readable(req), history(req)).map((msg) => m.messageJson(msg, req.userId)),
    );
    this.add('GET', '/rooms/{roomId}/chatMessages/{messageId}', (req) =>
      m.messageJson(m.liveMessage(readable(req), req.params.messageId), req.userId),
    );
    this.add(
      'GET',
      '/rooms/{roomId}/chatMessages/{messageId}/thread',
      (req) => m.thread(readable(req), req.params.messageId, history(req)).map((msg) => m.messageJson(msg, req.userId)),
      () => features().threads,
    );
    this.add('POST', '/rooms/{roomId}/chatMessages', (req) => {
      const room = readable(req);
      const msg = m.postMessage(room, req.userId, {
        text: req.body.text,
        status: req.body.status,
        parentId: req.body.parentId,
        virtualUser: req.body.virtualUser,
      });
      return m.messageJson(msg, req.userId);
    });
    this.add('PUT', '/rooms/{roomId}/chatMessages/{messageId}', (req) =>
      m.messageJson(m.editMessage(readable(req), req.params.messageId, req.userId, req.body), req.userId),
    );
    this.add(
      'DELETE',
      '/rooms/{roomId}/chatMessages/{messageId}',
      (req) => {
        m.deleteMessage(readable(req), req.params.messageId, req.userId);
        return NO_CONTENT;
      },
      () => features().deletes,
    );
    this.add('GET', '/user/{userId}/rooms/{roomId}/unreadItems', (req) => {
      self(req);
      return m.unreadItems(readable(req), req.userId);
    });
    this.add('POST', '/user/{userId}/rooms/{roomId}/unreadItems', (req) => {
      self(req);
      m.markRead(readable(req), req.userId, req.body.chat);
      return { success: true };
    });
  }

  /** Matches a path below the REST base (e.g. "/rooms/abc/chatMessages"). */
  match(method: string, path: string): RouteMatch | undefined {
    const segs = path.split('/').slice(1).map(safeDecode);
    for (const r of this.routes) {
      if (r.method !== method || r.segments.length !== segs.length) continue;
      if (r.enabled && !r.enabled()) continue;
      const params: Record<string, string> = {};
      const ok = r.segments.every((s, i) => {
        if (s.startsWith('{')) {
          params[s.slice(1, -1)] = segs[i];
          return segs[i] !== '';
        }
        return s === segs[i];
      });
      if (ok) return { route: r, params };
    }
    return undefined;
  }

  private add(method: string, template: string, handler: Handler, enabled?: () => boolean): void {
    this.routes.push({
      method,
      segments: template.split('/').slice(1),
      key: `${method} /v1${template}`,
      handler,
      ...(enabled ? { enabled } : {}),
    });
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
