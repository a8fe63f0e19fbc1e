// Socket Mode: apps.connections.open hands out one-time `ws://…/link/?ticket=…` URLs; a
// connection gets `hello`, then `events_api` envelopes, each to one of the app's connections.
// The client acks with `{"envelope_id":…}`; an envelope not acked within the ack timeout is sent
// again with `retry_attempt` + 1 and `retry_reason`, up to `maxRetries`. Envelopes that find no
// connection wait for one. On demand the server sends `disconnect` (warning, refresh_requested,
// link_disabled, too_many_websockets) and closes the socket if the client does not, or drops
// the TCP connection outright. WebSocket pings are answered, and the server pings too.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Attempt, Delivery, DeliveryLog } from './deliveries';
import type { Transport } from './dispatcher';
import type { Faults } from './faults';
import type { App } from './model';

export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';

export interface SocketModeOptions {
  /** How long an envelope may stay unacked before redelivery (Slack: about 3 s). */
  ackTimeoutMs?: number;
  /** Redeliveries before an envelope is given up (default 3). */
  maxRetries?: number;
  /** Connections an app may hold (Slack: 10). */
  maxConnections?: number;
  /** Interval of the server's pings (0: none; default 10 s). */
  pingIntervalMs?: number;
  /** After a `disconnect` message, how long the client has to close before the server does (default 1 s). */
  disconnectGraceMs?: number;
}

interface Connection {
  id: number;
  appId: string;
  ws: WebSocket;
  /** Told to go away: gets no new envelopes. */
  draining: boolean;
  pinger?: NodeJS.Timeout;
}

interface Envelope {
  id: string;
  delivery: Delivery;
  retry: number;
  reason: string;
  timer?: NodeJS.Timeout;
  attempt?: Attempt;
}

interface AppSockets {
  connections: Connection[];
  next: number;
  waiting: Envelope[];
  inflight: Map<string, Envelope>;
}

export class SocketModeServer implements Transport {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Map<string, string>();
  private readonly apps = new Map<string, AppSockets>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private serial = 0;
  private opened = new Map<string, number>();
  private ticketsIssued = new Map<string, number>();
  readonly ackTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxConnections: number;
  private readonly pingIntervalMs: number;
  private readonly disconnectGraceMs: number;

  constructor(
    private baseWsUrl: () => string,
    opts: SocketModeOptions,
    private log: DeliveryLog,
    private faults: Faults,
  ) {
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 3000;
    this.maxRetries = opts.maxRetries ?? 3;
    this.maxConnections = opts.maxConnections ?? 10;
    this.pingIntervalMs = opts.pingIntervalMs ?? 10_000;
    this.disconnectGraceMs = opts.disconnectGraceMs ?? 1000;
  }

  private sockets(appId: string): AppSockets {
    let s = this.apps.get(appId);
    if (!s) this.apps.set(appId, (s = { connections: [], next: 0, waiting: [], inflight: new Map() }));
    return s;
  }

  /** A one-time connection URL for the app (apps.connections.open). */
  issueTicket(appId: string): string {
    const ticket = randomUUID();
    this.tickets.set(ticket, appId);
    this.ticketsIssued.set(appId, (this.ticketsIssued.get(appId) ?? 0) + 1);
    return `${this.baseWsUrl()}/link/?ticket=${ticket}&app_id=${appId}`;
  }

  /** Handles an HTTP upgrade on /link/; answers false when the path is not ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/link/' && url.pathname !== '/link') return false;
    const ticket = url.searchParams.get('ticket') ?? '';
    const appId = this.tickets.get(ticket);
    if (!appId) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return true;
    }
    this.tickets.delete(ticket);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(appId, ws));
    return true;
  }

  private onConnection(appId: string, ws: WebSocket): void {
    const s = this.sockets(appId);
    const conn: Connection = { id: ++this.serial, appId, ws, draining: false };
    ws.on('error', () => ws.terminate());
    ws.on('close', () => this.onClose(conn));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(conn, rawText(data));
    });
    if (s.connections.filter((c) => !c.draining).length >= this.maxConnections) {
      this.sendDisconnect(conn, 'too_many_websockets');
      return;
    }
    s.connections.push(conn);
    this.opened.set(appId, (this.opened.get(appId) ?? 0) + 1);
    if (this.pingIntervalMs > 0) {
      conn.pinger = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.ping();
      }, this.pingIntervalMs);
      conn.pinger.unref();
    }
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: s.connections.length,
        debug_info: { host: 'applink-emulator', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: appId },
      }),
    );
    const waiting = s.waiting.splice(0);
    for (const env of waiting) this.dispatch(appId, env);
  }

  private onClose(conn: Connection): void {
    clearInterval(conn.pinger);
    const s = this.sockets(conn.appId);
    s.connections = s.connections.filter((c) => c !== conn);
    // Envelopes in flight on it are redelivered when their ack timer fires.
  }

  private onMessage(conn: Connection, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    const id = (msg as { envelope_id?: unknown })?.envelope_id;
    if (typeof id !== 'string') return;
    const s = this.sockets(conn.appId);
    const env = s.inflight.get(id);
    if (!env) return;
    if (this.faults.takeDroppedAck(conn.appId)) {
      if (env.attempt) env.attempt.outcome = 'ack_dropped';
      this.log.changed();
      return;
    }
    clearTimeout(env.timer);
    if (env.timer) this.timers.delete(env.timer);
    s.inflight.delete(id);
    if (env.attempt) env.attempt.outcome = 'acked';
    this.log.settle(env.delivery, 'acked');
  }

  send(app: App, delivery: Delivery): void {
    this.dispatch(app.id, { id: randomUUID(), delivery, retry: 0, reason: '' });
  }

  private dispatch(appId: string, env: Envelope): void {
    const s = this.sockets(appId);
    const live = s.connections.filter((c) => !c.draining && c.ws.readyState === WebSocket.OPEN);
    if (live.length === 0) {
      s.waiting.push(env);
      return;
    }
    const conn = live[s.next++ % live.length];
    env.attempt = { retry: env.retry, reason: env.reason || undefined, outcome: 'sent', at: Date.now() };
    env.delivery.attempts.push(env.attempt);
    s.inflight.set(env.id, env);
    conn.ws.send(
      JSON.stringify({
        envelope_id: env.id,
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: env.retry,
        retry_reason: env.reason,
        payload: env.delivery.payload,
      }),
    );
    env.timer = setTimeout(() => this.onAckTimeout(appId, env), this.ackTimeoutMs);
    this.timers.add(env.timer);
  }

  private onAckTimeout(appId: string, env: Envelope): void {
    if (env.timer) this.timers.delete(env.timer);
    const s = this.sockets(appId);
    s.inflight.delete(env.id);
    if (env.attempt && env.attempt.outcome === 'sent') env.attempt.outcome = 'unacked';
    if (env.retry >= this.maxRetries) {
      this.log.settle(env.delivery, 'failed');
      return;
    }
    this.log.changed();
    this.dispatch(appId, { ...env, retry: env.retry + 1, reason: 'timeout', timer: undefined, attempt: undefined });
  }

  private sendDisconnect(conn: Connection, reason: DisconnectReason): void {
    conn.draining = true;
    if (conn.ws.readyState === WebSocket.OPEN) {
      conn.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-emulator' } }));
    }
    if (reason === 'warning') return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(1000, reason);
    }, this.disconnectGraceMs);
    this.timers.add(t);
  }

  /** Sends `disconnect` with `reason` on each of the app's open connections; answers how many. */
  disconnect(appId: string, reason: DisconnectReason): number {
    const conns = this.sockets(appId).connections.filter((c) => !c.draining);
    for (const c of conns) this.sendDisconnect(c, reason);
    return conns.length;
  }

  /** Drops the app's connections without a close frame (a network failure). */
  drop(appId: string): number {
    const conns = [...this.sockets(appId).connections];
    for (const c of conns) c.ws.terminate();
    return conns.length;
  }

  /** Open connections of the app. */
  connectionCount(appId: string): number {
    return this.sockets(appId).connections.filter((c) => c.ws.readyState === WebSocket.OPEN && !c.draining).length;
  }

  /** Connections the app has opened so far, and tickets it was given. */
  stats(appId: string): { opened: number; ticketsIssued: number; waiting: number; inflight: number } {
    const s = this.sockets(appId);
    return {
      opened: this.opened.get(appId) ?? 0,
      ticketsIssued: this.ticketsIssued.get(appId) ?? 0,
      waiting: s.waiting.length,
      inflight: s.inflight.size,
    };
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.apps.values()) {
      for (const env of s.inflight.values()) clearTimeout(env.timer);
      for (const c of s.connections) {
        clearInterval(c.pinger);
        c.ws.terminate();
      }
    }
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** A text frame's payload (ws hands it over as a Buffer, or fragments, or an ArrayBuffer). */
function rawText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(data)) return data.toString();
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString();
}
