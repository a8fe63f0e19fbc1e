// All IRC connections of one network: creation, reconnect policy, client cap and idle reaping.
// - (Re)connects go through the network's ConnectScheduler (rate + concurrency limits).
// - Retryable failures wait per client as the owner's reconnectDelay says (the bridge hands in
//   its backoff policy); fatal ones (bans, clone limits, bad password, SASL failure) are never retried.
// - Messages sent while a client is down wait in its Outbox and are flushed in order after the
//   channels are re-joined; what cannot be delivered is reported, never dropped silently.
// - At maxClients the least recently active client is evicted, one at a time (MAI #1500 shed
//   thousands at once); idle clients are disconnected after idleTimeoutMs.
import { EventEmitter } from 'node:events';
import { IrcConnection } from './connection';
import {
  IrcConnectionError,
  type IrcConnectionOptions,
  type ConnectionObserver,
  type RegisteredEvent,
  type SendReport,
  type SendOptions,
  type LineResult,
  type DisconnectedEvent,
} from './connection-types';
import { ConnectScheduler, CancelledError, type ScheduledTask, type SchedulerOptions } from './reconnect-scheduler';
import { Outbox, type OutboxOptions } from './outbox';
import type { Disconnect } from './errors';
import type { MessageKind } from './line-splitter';
import { IrcCaseMap } from './casemapping';

/** Network-wide connection settings (everything but the user's identity). */
export type ServerOptions = Omit<IrcConnectionOptions, 'nick' | 'username' | 'realname' | 'sasl' | 'clientCertificate' | 'outgoingAddress'>;

/** Per-user identity and credentials. */
export type UserConnectionOptions = Pick<IrcConnectionOptions, 'nick' | 'username' | 'realname'> &
  Partial<Pick<IrcConnectionOptions, 'sasl' | 'clientCertificate' | 'outgoingAddress' | 'password' | 'userModes'>>;

export interface PoolOptions {
  server: ServerOptions;
  /** Max simultaneous clients (default 30, as MAI). */
  maxClients?: number;
  /** Disconnect clients that sent nothing for this long; 0 = never (default 0). */
  idleTimeoutMs?: number;
  scheduler?: ConnectScheduler | SchedulerOptions;
  /**
   * How long a client waits before reconnect attempt `attempt` (1 = the first after a drop), at
   * least `retryAfterMs` (the server asked for it; 0 when it did not). The pool has no policy of
   * its own: the bridge decides.
   */
  reconnectDelay: (attempt: number, retryAfterMs: number) => number;
  outbox?: OutboxOptions;
  /** Minimum spacing between evictions when over the cap (default 1 s). */
  evictionIntervalMs?: number;
  /** Called for every message that could not be delivered, with a user-facing reason. */
  onUndelivered?: (key: string, message: { kind: MessageKind; target: string; text: string }, reason: string) => void;
  /** Factory (tests). */
  createConnection?: (opts: IrcConnectionOptions) => IrcConnection;
}

export type ClientStatus = 'connecting' | 'connected' | 'waiting' | 'failed' | 'stopped';

export interface PoolEvents {
  connected: [key: string, info: RegisteredEvent];
  /** A connection dropped; `willRetry` tells whether the pool reconnects it. */
  disconnected: [key: string, reason: Disconnect, willRetry: boolean];
  /** Permanently failed (never retried until restart() is called). */
  failed: [key: string, reason: Disconnect];
  /** Removed by the cap or idle timeout. */
  evicted: [key: string, reason: 'client_limit' | 'idle'];
  /** The connection dropped (not on request) before the server confirmed these lines (see DisconnectedEvent.unconfirmed). */
  unconfirmed: [key: string, lines: DisconnectedEvent['unconfirmed']];
}

export class PooledClient {
  readonly connection: IrcConnection;
  private _status: ClientStatus = 'waiting';
  private attempts = 0;
  private task: ScheduledTask<RegisteredEvent> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly outbox: Outbox;
  /** Channels to be in (re-joined after each reconnect), with keys. */
  readonly channels: IrcCaseMap<string | undefined> = new IrcCaseMap();
  /** Channels this connection is in, from its own JOIN/PART/KICK as read so far. */
  private inChannel = new IrcCaseMap<true>();
  /** JOINs sent while (as far as read) already in the channel, until the server has handled them (see sendJoin). */
  private rejoining = new IrcCaseMap<{ left: boolean }>();
  lastFailure?: Disconnect;
  /** Last time the user sent something through this client. */
  lastActiveAt = Date.now();

  constructor(
    readonly key: string,
    private readonly pool: IrcConnectionPool,
    connection: IrcConnection,
    outboxOpts: OutboxOptions | undefined,
  ) {
    this.connection = connection;
    this.outbox = new Outbox(outboxOpts);
    connection.observe(PooledClient.watch, this);
  }

  /** What a pooled client follows of its connection: one object for all clients (see ConnectionObserver). */
  private static readonly watch: ConnectionObserver<PooledClient> = {
    disconnected(c, ev) {
      c.inChannel = new IrcCaseMap<true>();
      c.rejoining = new IrcCaseMap<{ left: boolean }>();
      // Lines still in the flood queue go back in front of the outbox, in order.
      if (c._status === 'connected' && ev.reason.kind !== 'requested') c.outbox.unshiftLines(ev.adopt());
      // Not re-sent: a hung server that wakes up still has them, and IRC would see them twice.
      if (ev.unconfirmed.length && ev.reason.kind !== 'requested') c.pool.emitEvent('unconfirmed', c.key, ev.unconfirmed);
      c.onDisconnected(ev.reason);
    },
    // Our JOIN and a KICK/PART the server already sent us can cross: kicked on IRC, the user rejoins
    // from Matrix before this connection has read the KICK. That KICK ends the membership *before*
    // our JOIN (whose echo follows it), so the channel must stay wanted, or the user's next leave
    // would not PART and a reconnect would not re-join.
    kick(c, ev) {
      if (ev.self) c.leftChannel(ev.channel);
    },
    part(c, ev) {
      if (ev.self) c.leftChannel(ev.channel);
    },
    join(c, ev) {
      if (!ev.self) return;
      c.inChannel.set(ev.channel, true);
      c.rejoining.delete(ev.channel); // our JOIN's echo: whatever we read before it predates it
    },
  };

  private leftChannel(channel: string): void {
    this.inChannel.delete(channel);
    const rejoin = this.rejoining.get(channel);
    if (rejoin)
      rejoin.left = true; // predates our JOIN or not: decided when the server has handled it
    else this.channels.delete(channel);
  }

  /**
   * Sends a JOIN. When this connection is (as far as it has read) already in the channel, the
   * server either ignores the JOIN or, if it kicked/parted us meanwhile, answers it with our JOIN
   * after that KICK/PART. A self KICK/PART read before the server has handled our JOIN (a barrier
   * behind it) is therefore final only if no JOIN echo followed it.
   */
  private sendJoin(channel: string, key?: string): Promise<LineResult> {
    const sent = this.connection.join(channel, key); // throws for an invalid name: nothing to track then
    if (!this.inChannel.has(channel)) return sent;
    const rejoin = { left: false };
    this.rejoining.set(channel, rejoin);
    void this.connection.barrier().then(() => {
      if (this.rejoining.get(channel) !== rejoin) return; // echoed, superseded, or the connection was lost
      this.rejoining.delete(channel);
      if (rejoin.left) this.channels.delete(channel); // the server ignored our JOIN: that leave came after it
    });
    return sent;
  }

  get status(): ClientStatus {
    return this._status;
  }
  get queuedMessages(): number {
    return this.outbox.size;
  }
  get connectAttempts(): number {
    return this.attempts;
  }

  /** Schedules a connection attempt (immediately queued in the network scheduler). */
  start(delayMs = 0): void {
    if (this._status === 'stopped') return;
    this._status = 'waiting';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const go = () => {
      this.retryTimer = null;
      if (this._status === 'stopped') return;
      this._status = 'connecting';
      this.attempts++;
      this.task = this.pool.scheduler.schedule(() => this.connection.connect());
      this.task.promise.then(
        () => {
          this.task = null;
          this.onRegistered();
        },
        (err: unknown) => {
          this.task = null;
          if (err instanceof CancelledError) return;
          // The 'disconnected' handler has already decided on a retry for IrcConnectionError.
          if (!(err instanceof IrcConnectionError)) this.onDisconnected({ class: 'retryable', kind: 'net_error', message: String(err) });
        },
      );
    };
    if (delayMs > 0) this.retryTimer = setTimeout(go, delayMs);
    else go();
  }

  /** Allows a failed client to try again (e.g. after the user changed credentials). */
  restart(): void {
    if (this._status === 'connected' || this._status === 'connecting') return;
    if (this._status === 'stopped') return;
    this.attempts = 0;
    this.start();
  }

  private onRegistered(): void {
    if (this._status === 'stopped') {
      void this.connection.quit('');
      return;
    }
    this._status = 'connected';
    this.attempts = 0;
    this.lastFailure = undefined;
    // Re-join first so queued channel messages land in the channel.
    for (const [channel, key] of this.channels) void this.sendJoin(channel, key).catch(() => undefined);
    for (const e of this.outbox.takeFresh()) {
      if (e.type === 'lines') this.connection.requeue(e.lines);
      else void this.connection.sendMessage(e.kind, e.target, e.text, e.opts).then(e.settle, (err) => e.settle(failedReport(String(err))));
    }
    this.pool.emitEvent('connected', this.key, {
      ...this.connection.self,
      requestedNick: this.connection.options.nick,
      isupport: this.connection.isupport,
      caps: this.connection.enabledCaps,
    });
  }

  private onDisconnected(reason: Disconnect): void {
    if (this._status === 'stopped') return;
    this.lastFailure = reason;
    if (reason.class === 'fatal') {
      this._status = 'failed';
      this.outbox.failAll(reason.message);
      this.pool.emitEvent('disconnected', this.key, reason, false);
      this.pool.emitEvent('failed', this.key, reason);
      return;
    }
    this._status = 'waiting';
    const delay = this.pool.reconnectDelay(this.attempts + 1, reason.retryAfterMs ?? 0);
    this.pool.emitEvent('disconnected', this.key, reason, true);
    this.start(delay);
  }

  /** Sends (or queues while disconnected) a message; the report says whether it was delivered. */
  async sendMessage(kind: MessageKind, target: string, text: string, opts?: SendOptions): Promise<SendReport> {
    this.lastActiveAt = Date.now();
    let report: SendReport;
    if (this._status === 'failed' || this._status === 'stopped') {
      report = failedReport(this.lastFailure?.message ?? 'Not connected to IRC.');
    } else if (this._status === 'connected' && this.connection.state === 'registered') {
      report = await this.connection.sendMessage(kind, target, text, opts);
    } else {
      report = await new Promise<SendReport>((resolve) => this.outbox.pushMessage(kind, target, text, resolve, opts));
    }
    if (!report.delivered) this.pool.reportUndelivered(this.key, { kind, target, text }, report.reason ?? 'not delivered');
    return report;
  }

  say(target: string, text: string): Promise<SendReport> {
    return this.sendMessage('privmsg', target, text);
  }
  notice(target: string, text: string): Promise<SendReport> {
    return this.sendMessage('notice', target, text);
  }
  action(target: string, text: string): Promise<SendReport> {
    return this.sendMessage('action', target, text);
  }

  /** Joins now if connected; the channel is remembered and re-joined after reconnects. */
  async join(channel: string, key?: string): Promise<LineResult> {
    this.channels.set(channel, key);
    if (this._status !== 'connected') return { ok: true, queueDelayMs: 0 };
    return this.sendJoin(channel, key);
  }

  /** The server refused our JOIN (full, invite-only, banned, bad key): not wanted any more, so not re-joined after a reconnect. */
  joinRefused(channel: string): void {
    if (!this.inChannel.has(channel)) this.channels.delete(channel);
  }

  async part(channel: string, reason?: string): Promise<LineResult> {
    this.channels.delete(channel);
    if (this._status !== 'connected') return { ok: true, queueDelayMs: 0 };
    return this.connection.part(channel, reason);
  }

  /** Stops for good: cancels retries, QUITs, fails queued messages with `reason`. */
  async stop(reason: string, quitMessage = ''): Promise<void> {
    if (this._status === 'stopped') return;
    const wasConnected = this._status === 'connected' || this._status === 'connecting';
    this._status = 'stopped';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.task?.cancel();
    this.outbox.failAll(reason);
    if (wasConnected) await this.connection.quit(quitMessage);
  }

  /** Fails messages that waited too long. */
  expireQueued(): void {
    this.outbox.expire();
  }
}

function failedReport(reason: string): SendReport {
  return { delivered: false, lines: 0, sent: 0, reason, queueDelayMs: 0 };
}

export class IrcConnectionPool {
  readonly scheduler: ConnectScheduler;
  readonly reconnectDelay: PoolOptions['reconnectDelay'];
  private readonly emitter = new EventEmitter();
  private readonly clients = new Map<string, PooledClient>();
  private maxClients: number;
  private readonly idleTimeoutMs: number;
  private readonly evictionIntervalMs: number;
  private lastEviction = 0;
  private evictTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: PoolOptions) {
    this.scheduler = opts.scheduler instanceof ConnectScheduler ? opts.scheduler : new ConnectScheduler(opts.scheduler);
    this.reconnectDelay = opts.reconnectDelay;
    this.maxClients = opts.maxClients ?? 30;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 0;
    this.evictionIntervalMs = opts.evictionIntervalMs ?? 1000;
    const sweepEvery = Math.max(1000, Math.min(60_000, this.idleTimeoutMs ? this.idleTimeoutMs / 4 : 60_000));
    this.sweepTimer = setInterval(() => this.sweep(), sweepEvery);
    this.sweepTimer.unref();
  }

  on<K extends keyof PoolEvents>(event: K, fn: (...args: PoolEvents[K]) => void): this {
    this.emitter.on(event, fn as (...a: unknown[]) => void);
    return this;
  }
  off<K extends keyof PoolEvents>(event: K, fn: (...args: PoolEvents[K]) => void): this {
    this.emitter.off(event, fn as (...a: unknown[]) => void);
    return this;
  }
  /** @internal */
  emitEvent<K extends keyof PoolEvents>(event: K, ...args: PoolEvents[K]): void {
    this.emitter.emit(event, ...args);
  }
  /** @internal */
  reportUndelivered(key: string, message: { kind: MessageKind; target: string; text: string }, reason: string): void {
    this.opts.onUndelivered?.(key, message, reason);
  }

  get size(): number {
    return this.clients.size;
  }
  get(key: string): PooledClient | undefined {
    return this.clients.get(key);
  }
  keys(): string[] {
    return [...this.clients.keys()];
  }

  /**
   * Returns the client for `key`, creating and scheduling its connection if needed. At the cap,
   * the least recently active client is evicted to make room.
   */
  acquire(key: string, user: UserConnectionOptions): PooledClient {
    const existing = this.clients.get(key);
    if (existing && existing.status !== 'stopped') return existing;
    if (this.clients.size >= this.maxClients) this.evictOne();
    const options: IrcConnectionOptions = { ...this.opts.server, ...user };
    const conn = this.opts.createConnection?.(options) ?? new IrcConnection(options);
    const client = new PooledClient(key, this, conn, this.opts.outbox);
    this.clients.set(key, client);
    client.start();
    return client;
  }

  /** Disconnects and forgets a client (e.g. !quit); queued messages are reported as undelivered. */
  async release(key: string, reason = 'Disconnected from IRC.', quitMessage = ''): Promise<void> {
    const c = this.clients.get(key);
    if (!c) return;
    this.clients.delete(key);
    await c.stop(reason, quitMessage);
  }

  /** Lowers or raises the cap; excess clients are shed gradually, one per evictionIntervalMs. */
  setMaxClients(n: number): void {
    this.maxClients = n;
    this.scheduleEvictions();
  }

  private scheduleEvictions(): void {
    if (this.evictTimer || this.clients.size <= this.maxClients) return;
    const wait = Math.max(0, this.lastEviction + this.evictionIntervalMs - Date.now());
    this.evictTimer = setTimeout(() => {
      this.evictTimer = null;
      if (this.clients.size > this.maxClients) this.evictOne();
      this.scheduleEvictions();
    }, wait);
  }

  private evictOne(): void {
    let victim: PooledClient | undefined;
    for (const c of this.clients.values()) if (!victim || c.lastActiveAt < victim.lastActiveAt) victim = c;
    if (!victim) return;
    this.lastEviction = Date.now();
    this.clients.delete(victim.key);
    this.emitEvent('evicted', victim.key, 'client_limit');
    void victim.stop('Disconnected from IRC: the bridge reached its connection limit.', `Client limit exceeded: ${this.maxClients}`);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of [...this.clients.values()]) {
      c.expireQueued();
      if (this.idleTimeoutMs > 0 && now - c.lastActiveAt > this.idleTimeoutMs) {
        this.clients.delete(c.key);
        this.emitEvent('evicted', c.key, 'idle');
        void c.stop('Disconnected from IRC for inactivity.', 'Idle timeout');
      }
    }
  }

  /** Stops every client (QUIT) and timers. */
  async shutdown(quitMessage = 'Bridge shutting down'): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.evictTimer) clearTimeout(this.evictTimer);
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.stop('The bridge is shutting down.', quitMessage)));
  }
}
