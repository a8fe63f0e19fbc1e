// The streaming API: one never-ending chunked response per `GET …/rooms/:roomId/chatMessages`,
// one JSON record per line, whitespace keep-alives at a fixed interval, and every create, update (and,
// with deletes on, removal) in a room written to all of that room's open streams. Test hooks
// reproduce what a bridge meets on real networks: a stream cut or gone silent, a record split
// across chunks (at byte positions, so UTF-8 characters can straddle two chunks), several
// records in one chunk, and reconnects refused for a while.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GitterModel } from './model';
import type { StreamRecord } from './shapes';

export interface StreamServerOptions {
  /** Interval between keep-alives (default 10 s). */
  keepAliveMs: number;
  /** The keep-alive itself (default `" \n"`, as node-gitter expects; some docs say `"\r\n"`). */
  keepAlive: string;
  /** Record separator (default `"\n"`; older docs use `"\r"`). */
  separator: '\n' | '\r' | '\r\n';
  /** Pause between the pieces of a split record, so they leave as separate TCP segments (default 5 ms). */
  splitDelayMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamServerOptions = { keepAliveMs: 10_000, keepAlive: ' \n', separator: '\n', splitDelayMs: 5 };

/** Which open streams a hook applies to; an empty filter means all. */
export interface StreamFilter {
  roomId?: string;
  userId?: string;
  token?: string;
}

interface Conn {
  roomId: string;
  userId: string;
  token: string;
  res: ServerResponse;
  stalled: boolean;
  /** >1: the next record goes out in this many pieces. */
  splitParts: number;
  /** Records held back to leave together in one chunk. */
  pack: { remaining: number; held: Buffer[] } | null;
  /** Writes in order, even while a split record is still going out. */
  chain: Promise<void>;
  keepAliveTimer: NodeJS.Timeout;
}

export class StreamServer {
  private readonly conns = new Set<Conn>();
  private refusal: { status: number; error: string } | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly model: GitterModel,
    readonly options: StreamServerOptions,
  ) {
    this.unsubscribe = model.onMessage((roomId, record) => this.fanOut(roomId, record));
  }

  /** When set, new stream requests are answered with this error instead (until `refuse(null)`). */
  get refusing(): { status: number; error: string } | null {
    return this.refusal;
  }

  /** Starts a stream on an authenticated, rate-limited request whose room the user may read. */
  open(req: IncomingMessage, res: ServerResponse, roomId: string, userId: string, token: string, headers: Record<string, string>): void {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', ...headers });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    const conn: Conn = {
      roomId,
      userId,
      token,
      res,
      stalled: false,
      splitParts: 0,
      pack: null,
      chain: Promise.resolve(),
      keepAliveTimer: setInterval(() => this.keepAlive(conn), Math.max(1, this.options.keepAliveMs)),
    };
    this.conns.add(conn);
    const drop = () => {
      clearInterval(conn.keepAliveTimer);
      this.conns.delete(conn);
    };
    res.on('close', drop);
    req.on('close', () => {
      if (res.writableEnded || res.destroyed) drop();
    });
  }

  // ---- test hooks ---------------------------------------------------------------------------

  /** Ends matching streams: `destroy` drops the connection, `end` closes the response cleanly. */
  cut(filter: StreamFilter = {}, how: 'destroy' | 'end' = 'destroy'): number {
    const hit = this.matching(filter);
    for (const c of hit) {
      clearInterval(c.keepAliveTimer);
      this.conns.delete(c);
      if (how === 'end') c.res.end();
      else c.res.destroy();
    }
    return hit.length;
  }

  /** Matching streams stay open but go silent (no records, no keep-alives), like a dead link. */
  stall(filter: StreamFilter = {}): number {
    const hit = this.matching(filter);
    for (const c of hit) c.stalled = true;
    return hit.length;
  }

  /** The next record on each matching stream is written in `parts` pieces. */
  splitNext(filter: StreamFilter = {}, parts = 3): number {
    const hit = this.matching(filter);
    for (const c of hit) c.splitParts = Math.max(2, parts);
    return hit.length;
  }

  /** The next `count` records on each matching stream leave together in one chunk. */
  packNext(filter: StreamFilter = {}, count = 2): number {
    const hit = this.matching(filter);
    for (const c of hit) c.pack = { remaining: Math.max(1, count), held: [] };
    return hit.length;
  }

  /** Refuse new stream requests (e.g. 503) until called with null. */
  refuse(status: number | null, error = 'Service Unavailable'): void {
    this.refusal = status === null ? null : { status, error };
  }

  count(filter: StreamFilter = {}): number {
    return this.matching(filter).length;
  }

  closeAll(): void {
    this.unsubscribe();
    this.cut({});
  }

  // ---- writing ------------------------------------------------------------------------------

  private matching(f: StreamFilter): Conn[] {
    return [...this.conns].filter(
      (c) => (!f.roomId || c.roomId === f.roomId) && (!f.userId || c.userId === f.userId) && (!f.token || c.token === f.token),
    );
  }

  private fanOut(roomId: string, record: StreamRecord): void {
    const line = Buffer.from(JSON.stringify(record) + this.options.separator, 'utf8');
    const room = this.model.rooms.get(roomId);
    for (const c of this.conns) {
      if (c.roomId !== roomId || c.stalled) continue;
      if (room && room.security !== 'PUBLIC' && !room.members.has(c.userId)) continue;
      this.deliver(c, line);
    }
  }

  private deliver(c: Conn, line: Buffer): void {
    if (c.pack) {
      c.pack.held.push(line);
      if (--c.pack.remaining > 0) return;
      const all = Buffer.concat(c.pack.held);
      c.pack = null;
      this.write(c, [all]);
      return;
    }
    if (c.splitParts > 1) {
      const n = Math.min(c.splitParts, line.length);
      c.splitParts = 0;
      const pieces: Buffer[] = [];
      for (let i = 0; i < n; i++) pieces.push(line.subarray(Math.floor((i * line.length) / n), Math.floor(((i + 1) * line.length) / n)));
      this.write(c, pieces);
      return;
    }
    this.write(c, [line]);
  }

  private write(c: Conn, pieces: Buffer[]): void {
    c.chain = c.chain.then(async () => {
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, this.options.splitDelayMs));
        if (c.res.destroyed || c.res.writableEnded) return;
        c.res.write(pieces[i]);
      }
    });
  }

  private keepAlive(c: Conn): void {
    if (c.stalled) return;
    this.write(c, [Buffer.from(this.options.keepAlive, 'utf8')]);
  }
}
