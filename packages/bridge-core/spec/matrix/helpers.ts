// Test helpers for the Matrix client specs: an in-memory IntentRepository (the
// store contract without a backend) and a tiny scripted HTTP server for the
// client's wire-level behaviour (headers, retries, timeouts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../src/logging/logger';
import type { IntentRecord, IntentRepository, StoredMembership } from '../../src/store/store';

export class MemoryIntentRepository implements IntentRepository {
  readonly records = new Map<string, IntentRecord>();
  readonly memberships = new Map<string, StoredMembership>();
  reads = 0;
  writes = 0;

  async get(userId: string): Promise<IntentRecord | undefined> {
    this.reads++;
    const r = this.records.get(userId);
    return r && { ...r };
  }
  async put(record: IntentRecord): Promise<void> {
    this.writes++;
    this.records.set(record.userId, { ...record });
  }
  async getMembership(roomId: string, userId: string): Promise<StoredMembership | undefined> {
    this.reads++;
    return this.memberships.get(`${roomId}|${userId}`);
  }
  async setMembership(roomId: string, userId: string, membership: StoredMembership): Promise<void> {
    this.writes++;
    this.memberships.set(`${roomId}|${userId}`, membership);
  }
  async joinedRooms(userId: string): Promise<string[]> {
    const out: string[] = [];
    for (const [k, m] of this.memberships) {
      const [room, user] = k.split('|');
      if (user === userId && m === 'join') out.push(room);
    }
    return out;
  }
  async forgetRoom(roomId: string): Promise<void> {
    for (const k of [...this.memberships.keys()]) if (k.startsWith(roomId + '|')) this.memberships.delete(k);
  }
}

export interface SeenRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export type StubReply =
  { status: number; json?: unknown; headers?: Record<string, string>; body?: Buffer; delayMs?: number } | 'hang' | 'reset';

/** An HTTP server answering from a script: each request gets `handler(req, index)`. */
export async function startStub(handler: (req: SeenRequest, index: number) => StubReply | Promise<StubReply>) {
  const requests: SeenRequest[] = [];
  let inFlight = 0;
  let peak = 0;
  const sockets = new Set<import('node:net').Socket>();
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const seen: SeenRequest = {
      method: req.method!,
      url: new URL(req.url!, 'http://stub'),
      headers: req.headers,
      body: Buffer.concat(chunks),
      at: Date.now(),
    };
    requests.push(seen);
    const reply = await handler(seen, requests.length - 1);
    if (reply === 'hang') {
      res.on('close', () => inFlight--);
      return;
    }
    if (reply === 'reset') {
      inFlight--;
      req.socket.destroy();
      return;
    }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const body = reply.body ?? Buffer.from(JSON.stringify(reply.json ?? {}));
    res.writeHead(reply.status, { 'content-type': reply.body ? 'application/octet-stream' : 'application/json', ...reply.headers });
    res.end(body);
    inFlight--;
  };
  const server = http.createServer((req, res) => void serve(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get peak() {
      return peak;
    },
    connections: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export const FAST_BACKOFF = { baseMs: 5, maxMs: 40, maxRetries: 4 };

/** A logger that drops everything (for specs that provoke error logs on purpose). */
export const SILENT: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  trace() {},
  child() {
    return SILENT;
  },
  isLevelEnabled() {
    return false;
  },
};
