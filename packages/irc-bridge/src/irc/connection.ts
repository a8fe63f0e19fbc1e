// One IRC client connection (one Matrix user on one network). Wraps irc-framework's Client for
// socket, CAP/SASL and PING handling, but owns everything the bridge depends on: reconnect policy
// is external (auto_reconnect off), every outgoing line is built and sanitised here and paced by a
// flood queue, the line budget follows the host the server reports, nick collisions at
// registration fall back deterministically, and disconnects carry a classified reason.
import { FloodQueue, type FloodStats } from './flood-queue';
import { buildLine, sanitizeParam, sanitizeUserText, isSafeMiddleParam, IrcInjectionError } from './sanitize';
import { lineBudget, splitMessage, WORST_CASE_IDENTITY, type MessageKind } from './line-splitter';
import { fallbackNick, isValidNick } from './nick';
import { isValidChannelName } from './channel-name';
import { ircEquals } from './casemapping';
import { parseRawCommand } from './raw-command';
import { formatTags } from './message-tags';
import { EchoMatcher } from './echo-matcher';
import { Interner } from './interner';
import { peekChannelChat } from './line-peek';
import { applyIsupportTokens, defaultIsupport, internIsupport, type Isupport } from './isupport';
import {
  classifyErrorText,
  classifySocketError,
  classifySoftNumeric,
  connectTimeout,
  saslFailure,
  type Disconnect,
  type SoftError,
} from './errors';
import { IfClientCtor, type IfClient, type IfMessage } from './irc-framework';
import { ObservableEvents, type ObserverFailure } from './observable-events';
import { BoundedNetTransport, LINE_TOO_LONG_EVENT } from './bounded-transport';
import { malformedReason } from './inbound-check';
import { readInbound, type InboundEvent, type ReadContext } from './inbound-events';
import {
  IrcConnectionError,
  type ConnectionEvents,
  type ConnectionProblem,
  type ConnectionState,
  type DisconnectedEvent,
  type Identity,
  type IrcConnectionOptions,
  type LineResult,
  type OutgoingLine,
  type RegisteredEvent,
  type SendOptions,
  type SendReport,
  type WhoisResult,
} from './connection-types';

// Every connection to a server enables the same caps and reads the same 004: one copy each.
const sharedCaps = new Interner<readonly string[]>();
const sharedServerInfo = new Interner<{ version: string; userModes: string }>();

export class IrcConnection extends ObservableEvents<ConnectionEvents> {
  private client: IfClient | null = null;
  private readonly queue: FloodQueue<OutgoingLine>;
  private _state: ConnectionState = 'idle';
  private identity: Identity;
  private _isupport: Isupport = defaultIsupport();
  private caps: readonly string[] = [];
  private nickAttempt = 0;
  private quitRequested = false;
  private fatal: Disconnect | null = null;
  private errorText: string | null = null;
  private socketError: unknown = null;
  private connectTimer: NodeJS.Timeout | null = null;
  /** NAMES replies being collected (353 until 366), by channel. */
  private namesBuffer: Map<string, { nick: string; prefixes: string }[]> | undefined;
  /** Replies waited for (WHOIS and the like). */
  private waiters: Set<(msg: IfMessage) => boolean> | undefined;
  /** barrier() calls waiting for their PONG, by token. */
  private barriers: Map<string, (handled: boolean) => void> | undefined;
  private barrierSeq = 0;
  /** The connect() in progress, until it settles. */
  private connecting: { resolve(ev: RegisteredEvent): void; reject(err: Error): void } | null = null;
  private skipChannelChat: ((channel: string, msgid: string | undefined) => boolean) | undefined;
  private deaf: { letter: string; on: boolean } | undefined;
  private myInfo: { version: string; userModes: string } | undefined;
  private readonly echoes = new EchoMatcher((a, b) => ircEquals(a, b, this._isupport.caseMapping));
  private lastActivity = Date.now();
  private announceRegistered: (() => void) | null = null;
  private registerTimer: NodeJS.Timeout | null = null;

  constructor(public readonly options: IrcConnectionOptions) {
    super();
    this.identity = { nick: options.nick, user: options.username, host: '' };
    this.queue = new FloodQueue<OutgoingLine>((line, waited) => this.writeQueued(line, waited), {
      ...options.flood,
      prepare: beforeWrites,
    });
  }

  // ---- state ----------------------------------------------------------------------------------
  get state(): ConnectionState {
    return this._state;
  }
  get nick(): string {
    return this.identity.nick;
  }
  get self(): Identity {
    return { ...this.identity };
  }
  get isupport(): Isupport {
    return this._isupport;
  }
  get enabledCaps(): readonly string[] {
    return this.caps;
  }
  get floodStats(): FloodStats {
    return this.queue.getStats();
  }
  /** Local TCP port of the current socket (identd answers by port pair). */
  get localPort(): number | undefined {
    return this.client?.connection.transport?.socket?.localPort;
  }
  /** Last time we sent a user-visible line (for idle timeouts / least-recently-active eviction). */
  get lastActiveAt(): number {
    return this.lastActivity;
  }

  /**
   * Channel chat from others for which `skip(channel, msgid)` is true is dropped
   * before irc-framework parses it: the network relays each line from one
   * connection only (see line-peek.ts for why this matters). Our own lines
   * (echo-message) and everything that is not channel chat always go through.
   */
  setChannelChatFilter(skip: ((channel: string, msgid: string | undefined) => boolean) | undefined): void {
    this.skipChannelChat = skip;
  }

  /**
   * Where irc-framework takes each line the server sent: channel chat another connection relays is
   * dropped unparsed (setChannelChatFilter), NUL (never valid on IRC) is removed so it cannot reach
   * Matrix, and a line too short to mean anything is dropped before any handler reads it
   * (inbound-check.ts). Whatever a handler still throws on drops that line, not the process.
   */
  private installLineGuard(client: IfClient): void {
    const conn = client.connection;
    const parse = conn.addReadBuffer.bind(conn);
    conn.addReadBuffer = (raw: string) => {
      const line = raw.includes('\0') ? raw.replace(/\0/g, '') : raw;
      const skip = this.skipChannelChat;
      if (skip && this._state === 'registered') {
        const chat = peekChannelChat(line, this._isupport.chanTypes);
        if (chat && !this.isSelf(chat.nick) && skip(chat.channel, chat.msgid)) return;
      }
      try {
        parse(line);
      } catch (err) {
        this.problem({ kind: 'malformed-line', line: line.trimEnd(), reason: err instanceof Error ? err.message : String(err) });
      }
    };
    // irc-framework's raw middleware runs before its own handlers; a line it does not pass on
    // reaches none of them, and onMessage (a later listener of the same line) skips it too.
    client.use((_c, rawMiddleware) => {
      rawMiddleware.use((command: string, msg: IfMessage, rawLine: string, _client: unknown, next: () => void) => {
        const why = malformedReason(command, msg.params, msg.nick);
        if (why === undefined) return next();
        this.dropped.add(msg);
        this.problem({ kind: 'malformed-line', line: rawLine.trimEnd(), reason: why });
      });
    });
  }

  /** Lines the raw middleware refused (see installLineGuard); weak, so nothing is kept. */
  private readonly dropped = new WeakSet<IfMessage>();

  /** Reports what was dropped (see ConnectionProblem); the connection carries on. */
  private problem(p: ConnectionProblem): void {
    const report = this.options.onProblem;
    if (report) {
      try {
        report(p, this.identity.nick);
      } catch {
        // A reporter that throws has nowhere left to report to: the line stays dropped.
      }
      return;
    }
    const what =
      p.kind === 'observer-failed'
        ? `observer of '${p.event}' failed: ${p.error instanceof Error ? (p.error.stack ?? p.error.message) : String(p.error)}`
        : p.kind === 'malformed-line'
          ? `malformed line dropped (${p.reason}): ${p.line.slice(0, 200)}`
          : `line of ${p.bytes}+ bytes dropped`;
    process.stderr.write(`IRC connection ${this.identity.nick}: ${what}\n`);
  }

  protected override observerFailed(failure: ObserverFailure): void {
    this.problem({ kind: 'observer-failed', ...failure });
  }

  isChannel(target: string): boolean {
    return target.length > 0 && this._isupport.chanTypes.includes(target[0]);
  }

  /** Max text bytes for one line of `kind` to `target`, from our identity as the server shows it. */
  budgetFor(target: string, kind: MessageKind = 'privmsg'): number {
    const w = WORST_CASE_IDENTITY;
    return lineBudget({
      nick: this.identity.nick,
      user: this.identity.host ? this.identity.user : 'x'.repeat(w.userLen),
      host: this.identity.host || 'x'.repeat(w.hostLen),
      target,
      kind,
    });
  }

  /** The IRC lines `text` would become (for lineLimit decisions before sending). */
  planMessage(target: string, text: string, kind: MessageKind = 'privmsg'): string[] {
    return splitMessage(text, { budget: this.budgetFor(target, kind) }).lines;
  }

  // ---- connect / disconnect -----------------------------------------------------------------
  /** Connects and registers. Rejects with IrcConnectionError carrying the classified reason. */
  connect(): Promise<RegisteredEvent> {
    if (this._state === 'connecting' || this._state === 'registered') {
      return Promise.reject(new Error(`connect() while ${this._state}`));
    }
    this._state = 'connecting';
    this.quitRequested = false;
    this.fatal = null;
    this.errorText = null;
    this.socketError = null;
    this.nickAttempt = 0;
    this.caps = [];
    this.myInfo = undefined;
    this._isupport = defaultIsupport();
    this.identity = { nick: fallbackNick(this.options.nick, 0, this._isupport.nickLen), user: this.options.username, host: '' };
    const o = this.options;
    const client = new IfClientCtor();
    this.client = client;
    this.installLineGuard(client);
    const timeoutMs = o.connectTimeoutMs ?? 30_000;

    return new Promise<RegisteredEvent>((resolve, reject) => {
      // Held only until the promise settles: what the listeners below keep lives as long as the connection.
      this.connecting = { resolve, reject };
      this.connectTimer = setTimeout(() => {
        this.fatal ??= connectTimeout(timeoutMs);
        this.destroySocket();
      }, timeoutMs);
      this.listen(client);
      client.connect({
        host: pickHost(o),
        port: o.port,
        nick: this.identity.nick,
        username: o.username,
        gecos: sanitizeParam(o.realname) || o.username,
        // irc-framework writes PASS unchecked; a stored or configured password never carries a line break or NUL there.
        password: o.password === undefined ? undefined : o.password.replace(/[\0\r\n]/g, ''),
        tls: o.tls ?? false,
        rejectUnauthorized: !o.allowSelfSigned,
        outgoing_addr: o.outgoingAddress,
        client_certificate: o.clientCertificate
          ? { private_key: o.clientCertificate.privateKey, certificate: o.clientCertificate.certificate }
          : undefined,
        account: o.sasl?.mechanism === 'PLAIN' ? { account: o.sasl.account, password: o.sasl.password } : undefined,
        sasl_mechanism: o.sasl?.mechanism,
        sasl_disconnect_on_fail: !!o.sasl && !(o.sasl.mechanism === 'EXTERNAL' && o.sasl.optional),
        auto_reconnect: false,
        ping_interval: o.pingIntervalSec ?? 60,
        ping_timeout: o.pingTimeoutSec ?? 600,
        enable_chghost: true,
        enable_setname: true,
        enable_echomessage: !!o.echoMessage,
        encoding: o.encoding ?? 'utf8',
        // CTCP VERSION auto-replies would bypass our flood queue; we surface CTCP as events.
        version: '',
        // Our splitter does the real splitting; this only matters if irc-framework ever splits.
        message_max_length: 510,
        // irc-framework's own line splitting, but bounded (line-reader.ts).
        transport: BoundedNetTransport,
      });
    });
  }

  /** The socket's events for this connection's lifetime (its own scope, so they hold only `client`). */
  private listen(client: IfClient): void {
    client.connection.on('message', (msg: IfMessage) => this.onMessage(msg));
    client.connection.on(LINE_TOO_LONG_EVENT, (bytes: number) => this.problem({ kind: 'line-too-long', bytes }));
    client.on('socket close', (err: unknown) => {
      if (err) this.socketError = err;
      this.onSocketClose(client);
    });
    client.on('sasl failed', (ev: { reason?: string; message?: string }) => this.onSaslFailed(ev));
    client.on('cap ack', () => undefined);
  }

  private onSaslFailed(ev: { reason?: string; message?: string }): void {
    const sasl = this.options.sasl;
    if (sasl?.mechanism === 'EXTERNAL' && sasl.optional) {
      this.emit('sasl', { ok: false, reason: ev?.reason ?? 'failed', detail: ev?.message });
      return;
    }
    // Without our own `sasl`, irc-framework still tries PLAIN with a bare PASS password (and reports a
    // missing sasl cap for it) and registers anyway: no reason to fail a later disconnect as a SASL failure.
    if (sasl) this.fatal ??= saslFailure('SASL', ev?.reason ?? 'failed', sasl.mechanism);
  }

  /** Sends QUIT and waits for the socket to close (forcefully after a grace period). */
  async quit(reason = ''): Promise<void> {
    const client = this.client;
    if (!client || this._state === 'closed' || this._state === 'idle') return;
    this.quitRequested = true;
    this.queue.pause();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.destroySocket();
        resolve();
      }, 3000);
      this.once('disconnected', () => {
        clearTimeout(t);
        resolve();
      });
      client.connection.end(buildLine('QUIT', [], sanitizeParam(reason)));
    });
  }

  /** Drops the socket without QUIT (used for timeouts and tests). */
  destroySocket(): void {
    const sock = this.client?.connection.transport?.socket;
    if (sock) sock.destroy();
    else this.client?.connection.end();
  }

  // ---- sending ------------------------------------------------------------------------------
  private enqueue(
    command: string,
    middle: string[],
    trailing?: string,
    kind?: MessageKind,
    extra: Pick<OutgoingLine, 'tags' | 'onEcho' | 'beforeWrite'> & { urgent?: boolean } = {},
  ): Promise<LineResult> {
    // Validate now, so an unsafe value fails the caller instead of the queue.
    buildLine(command, middle, trailing);
    formatTags(extra.tags);
    const { urgent, ...lineExtra } = extra;
    return new Promise<LineResult>((resolve) => {
      const line: OutgoingLine = { command, middle, trailing, kind, ...lineExtra, createdAt: Date.now(), settle: resolve };
      if (this._state !== 'registered') {
        resolve({ ok: false, reason: 'Not connected to IRC.' });
        return;
      }
      if (urgent) this.queue.pushFront(line, command);
      else this.queue.push(line, command);
    });
  }

  /**
   * Makes this connection deaf to channel chat with the server's deaf user mode `letter` (or
   * hearing again), kept across reconnects. A connection that relays no channel need not receive
   * every line said in its channels: deaf, the server stops sending them (see
   * IrcNetwork.updateDeafness). The change goes ahead of queued chat: hearing again is what lets
   * the connection take over a channel whose relay left.
   */
  setDeaf(letter: string, deaf: boolean): void {
    if (this.deaf?.letter === letter && this.deaf.on === deaf) return;
    this.deaf = { letter, on: deaf };
    if (this._state === 'registered')
      void this.enqueue('MODE', [this.identity.nick, `${deaf ? '+' : '-'}${letter}`], undefined, undefined, { urgent: true });
  }

  /** Re-queues lines adopted from a previous disconnect, re-splitting text that no longer fits. */
  requeue(lines: readonly OutgoingLine[]): void {
    for (const l of lines) {
      if (this._state !== 'registered') {
        l.settle({ ok: false, reason: 'Not connected to IRC.' });
        continue;
      }
      if (l.kind && l.trailing !== undefined && l.middle[0]) {
        const text = l.kind === 'action' ? stripAction(l.trailing) : l.trailing;
        const pieces = splitMessage(text, { budget: this.budgetFor(l.middle[0], l.kind) }).lines;
        if (pieces.length > 1) {
          const settleOnce = onceSettler(pieces.length, l.settle);
          pieces.forEach((p, i) => {
            const trailing = l.kind === 'action' ? `\x01ACTION ${p}\x01` : p;
            this.queue.push({ ...l, trailing, settle: settleOnce, ...(i > 0 ? { tags: undefined } : {}) }, l.command);
          });
          continue;
        }
      }
      this.queue.push(l, l.command);
    }
  }

  private writeQueued(line: OutgoingLine, waitedMs: number): void {
    const client = this.client;
    if (!client || this._state !== 'registered') {
      line.settle({ ok: false, reason: 'Not connected to IRC.' });
      return;
    }
    if (line.command === 'PRIVMSG' || line.command === 'NOTICE') this.lastActivity = Date.now();
    // Caps are read per write: a line queued before a reconnect follows what the new connection got.
    const tags = line.tags && this.caps.includes('message-tags') ? formatTags(line.tags) : '';
    const wire = tags + buildLine(line.command, line.middle, line.trailing);
    if (line.onEcho && line.trailing !== undefined && this.caps.includes('echo-message')) {
      this.echoes.expect({ command: line.command, target: line.middle[0] ?? '', text: sanitizeParam(line.trailing), onEcho: line.onEcho });
    }
    client.connection.write(wire, () => line.settle({ ok: true, queueDelayMs: waitedMs }));
  }

  /** Sends a message (split to the real budget; newlines start new lines; \x01/CR/LF/NUL stripped). */
  async sendMessage(kind: MessageKind, target: string, text: string, opts: SendOptions = {}): Promise<SendReport> {
    if (!isSafeMiddleParam(target)) throw new IrcInjectionError(`invalid message target ${JSON.stringify(target)}`);
    const lines = this.planMessage(target, text, kind);
    const command = kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
    const results = await Promise.all(
      lines.map((l, i) =>
        this.enqueue(command, [target], kind === 'action' ? `\x01ACTION ${l}\x01` : l, kind, {
          ...(i === 0 && opts.firstLineTags ? { tags: opts.firstLineTags } : {}),
          ...(opts.onEcho ? { onEcho: opts.onEcho } : {}),
          ...(opts.beforeWrite ? { beforeWrite: opts.beforeWrite } : {}),
        }),
      ),
    );
    const failed = results.find((r): r is { ok: false; reason: string } => !r.ok);
    return {
      delivered: !failed,
      lines: lines.length,
      sent: results.filter((r) => r.ok).length,
      ...(failed ? { reason: failed.reason } : {}),
      queueDelayMs: Math.max(0, ...results.map((r) => (r.ok ? r.queueDelayMs : 0))),
    };
  }

  /**
   * Resolves once the lines written so far to `target` whose msgid we wait for (onEcho) have echoed
   * or will not (see EchoMatcher.settled), after `timeoutMs` at the latest; undefined when none is
   * waiting. The echo comes on this connection only, so another connection can receive an answer
   * to the line before the echo that tells its msgid is read here.
   */
  echoesSettled(target: string, timeoutMs: number): Promise<void> | undefined {
    return this.echoes.settled(target, timeoutMs);
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

  /** Whether `channel` is a name this connection can address (the server's CHANTYPES and CHANNELLEN; see channel-name.ts). */
  validChannel(channel: string): boolean {
    return isValidChannelName(channel, { chanTypes: this._isupport.chanTypes, channelLen: this._isupport.channelLen });
  }

  private checkChannel(channel: string): void {
    if (!this.validChannel(channel)) {
      throw new IrcInjectionError(`invalid channel name ${JSON.stringify(channel)}`);
    }
  }

  join(channel: string, key?: string): Promise<LineResult> {
    this.checkChannel(channel);
    const k = key === undefined ? undefined : sanitizeParam(key).replace(/[\s,]/g, '');
    return k ? this.enqueue('JOIN', [channel, k]) : this.enqueue('JOIN', [channel]);
  }

  /**
   * Resolves true once the server has handled every line queued before this call: a PING queued
   * behind them, answered by its PONG (a server handles one client's lines in order). False if
   * the connection closes first. What we read before it may predate those lines; what follows it
   * does not.
   */
  async barrier(): Promise<boolean> {
    const token = `causeway-${++this.barrierSeq}`;
    const handled = new Promise<boolean>((resolve) => (this.barriers ??= new Map()).set(token, resolve));
    const sent = await this.enqueue('PING', [token]);
    if (!sent.ok) this.settleBarrier(token, false);
    return handled;
  }

  private settleBarrier(token: string, handled: boolean): void {
    const resolve = this.barriers?.get(token);
    if (!resolve) return;
    this.barriers!.delete(token);
    if (!this.barriers!.size) this.barriers = undefined;
    resolve(handled);
  }

  part(channel: string, reason?: string): Promise<LineResult> {
    this.checkChannel(channel);
    return this.enqueue('PART', [channel], reason === undefined ? undefined : sanitizeUserText(reason));
  }

  /** Sets the topic (an empty string clears it, sent as a bare ':'). */
  topic(channel: string, text: string): Promise<LineResult> {
    this.checkChannel(channel);
    return this.enqueue('TOPIC', [channel], sanitizeUserText(text));
  }

  kick(channel: string, nick: string, reason?: string): Promise<LineResult> {
    this.checkChannel(channel);
    if (!isSafeMiddleParam(nick)) throw new IrcInjectionError(`invalid nick ${JSON.stringify(nick)}`);
    return this.enqueue('KICK', [channel, nick], reason === undefined ? undefined : sanitizeUserText(reason));
  }

  mode(target: string, modes: string, ...args: string[]): Promise<LineResult> {
    if (!/^[+-][A-Za-z+-]*$/.test(modes)) throw new IrcInjectionError(`invalid mode string ${JSON.stringify(modes)}`);
    return this.enqueue('MODE', [target, modes, ...args]);
  }

  invite(nick: string, channel: string): Promise<LineResult> {
    this.checkChannel(channel);
    return this.enqueue('INVITE', [nick, channel]);
  }

  /**
   * Asks the server again for what it says on joining a channel: members (353/366), topic (332)
   * and, with `modes`, the channel modes (324), which it does not send on join.
   */
  requestChannelState(channel: string, what: { names?: boolean; topic?: boolean; modes?: boolean }): void {
    this.checkChannel(channel);
    if (what.names) void this.enqueue('NAMES', [channel]);
    if (what.topic) void this.enqueue('TOPIC', [channel]);
    if (what.modes) void this.enqueue('MODE', [channel]);
  }

  /** Sends a validated raw command (see parseRawCommand for the deny list). */
  raw(input: string): Promise<LineResult> {
    const parsed = parseRawCommand(input, undefined, { chanTypes: this._isupport.chanTypes, channelLen: this._isupport.channelLen });
    if (!parsed.ok) return Promise.resolve({ ok: false, reason: parsed.reason });
    const hasTrailing = /(^|\s):/.test(input.trim().slice(parsed.command.length));
    const middle = hasTrailing ? parsed.params.slice(0, -1) : parsed.params;
    const trailing = hasTrailing ? parsed.params[parsed.params.length - 1] : undefined;
    return this.enqueue(parsed.command, middle, trailing);
  }

  /**
   * Changes nick. On failure (433 in use, 432 invalid...) the old nick is kept and the reason
   * returned (and emitted as 'nick-change-failed'); never silently suffixed.
   */
  async changeNick(newNick: string, timeoutMs = 10_000): Promise<{ ok: true; nick: string } | { ok: false; reason: SoftError | string }> {
    if (!isValidNick(newNick, this._isupport.nickLen)) {
      return { ok: false, reason: `${newNick} is not a valid IRC nick.` };
    }
    if (ircEquals(newNick, this.identity.nick, this._isupport.caseMapping) && newNick === this.identity.nick) {
      return { ok: true, nick: newNick };
    }
    const result = this.waitFor<{ ok: true; nick: string } | { ok: false; reason: SoftError }>(timeoutMs, (msg, done) => {
      if (msg.command === 'NICK' && msg.nick && ircEquals(msg.nick, this.identity.nick, this._isupport.caseMapping)) {
        done({ ok: true, nick: msg.params[0] });
        return true;
      }
      if (['432', '433', '436', '437', '484'].includes(msg.command) && (msg.params[1] ?? '') === newNick) {
        done({ ok: false, reason: classifySoftNumeric(msg.command, msg.params) });
        return true;
      }
      return false;
    });
    const sent = await this.enqueue('NICK', [newNick]);
    if (!sent.ok) return { ok: false, reason: sent.reason };
    const r = await result;
    if (r === null) return { ok: false, reason: 'The IRC server did not answer the nick change.' };
    if (!r.ok) this.emit('nick-change-failed', { requested: newNick, nick: this.identity.nick, reason: r.reason });
    return r;
  }

  /** WHOIS with the reply collected; null if the nick does not exist. */
  async whois(nick: string, timeoutMs = 10_000): Promise<WhoisResult | null> {
    if (!isSafeMiddleParam(nick)) throw new IrcInjectionError(`invalid nick ${JSON.stringify(nick)}`);
    const res: WhoisResult = { nick, channels: [] };
    let found = false;
    const same = (n: string | undefined) => !!n && ircEquals(n, nick, this._isupport.caseMapping);
    const reply = this.waitFor<WhoisResult | null>(timeoutMs, (msg, done) => {
      const p = msg.params;
      if (!same(p[1])) return false;
      switch (msg.command) {
        case '311':
          found = true;
          res.nick = p[1];
          res.user = p[2];
          res.host = p[3];
          res.realname = p[5];
          return true;
        case '312':
          res.server = p[2];
          return true;
        case '319':
          res.channels.push(...(p[2] ?? '').split(' ').filter(Boolean));
          return true;
        case '330':
          res.account = p[2];
          return true;
        case '317':
          res.idleSeconds = parseInt(p[2], 10);
          return true;
        case '401':
          done(null);
          return true;
        case '318':
          done(found ? res : null);
          return true;
      }
      return false;
    });
    const sent = await this.enqueue('WHOIS', [nick]);
    if (!sent.ok) return null;
    return reply;
  }

  /** Resolves with done(value) from the matcher, or null on timeout/disconnect. */
  private waitFor<T>(timeoutMs: number, match: (msg: IfMessage, done: (v: T) => void) => boolean): Promise<T | null> {
    return new Promise<T | null>((resolve) => {
      let finished = false;
      const finish = (v: T | null) => {
        if (finished) return;
        finished = true;
        clearTimeout(t);
        this.waiters?.delete(waiter);
        this.off('disconnected', onDisc);
        resolve(v);
      };
      const waiter = (msg: IfMessage) => match(msg, (v) => finish(v));
      const onDisc = () => finish(null);
      const t = setTimeout(() => finish(null), timeoutMs);
      (this.waiters ??= new Set()).add(waiter);
      this.on('disconnected', onDisc);
    });
  }

  // ---- inbound ------------------------------------------------------------------------------
  private isSelf(nick: string | undefined): boolean {
    return !!nick && ircEquals(nick, this.identity.nick, this._isupport.caseMapping);
  }

  private updateHost(user: string | undefined, host: string | undefined): void {
    if (!host) return;
    const next = { ...this.identity, user: user ?? this.identity.user, host };
    if (next.host === this.identity.host && next.user === this.identity.user) return;
    this.identity = next;
    if (this._state === 'registered') this.emit('host-changed', this.self);
  }

  /** Each line from the server, read (inbound-events.ts) and applied. */
  private onMessage(msg: IfMessage): void {
    if (this.dropped.has(msg)) return;
    if (this.waiters?.size) for (const w of [...this.waiters]) w(msg);
    const ev = readInbound(msg, this.readContext);
    if (ev) this.apply(ev);
  }

  /** What reading a line needs to know of this connection (one object, kept for its lifetime). */
  private readonly readContext: ReadContext = {
    isupport: () => this._isupport,
    isSelf: (nick) => this.isSelf(nick),
    isChannel: (target) => this.isChannel(target),
  };

  /** What this connection does with a line from the server: its own state first, then its observers. */
  private apply(ev: InboundEvent): void {
    switch (ev.type) {
      case 'welcome':
        this.onWelcome(ev.nick, ev.user, ev.host);
        return;
      case 'motd-end':
        this.announceRegistered?.();
        return;
      case 'server-info':
        this.myInfo = sharedServerInfo.intern(`${ev.version} ${ev.userModes}`, { version: ev.version, userModes: ev.userModes });
        return;
      case 'isupport':
        this._isupport = applyIsupportTokens(this._isupport, ev.tokens);
        return;
      case 'caps-acked':
        this.setCaps([...new Set([...this.caps, ...ev.caps])]);
        return;
      case 'caps-removed': {
        const del = new Set(ev.caps);
        this.setCaps(this.caps.filter((c) => !del.has(c)));
        return;
      }
      case 'own-host':
        this.updateHost(ev.user, ev.host);
        return;
      case 'error':
        this.errorText = ev.text;
        return;
      case 'pong':
        if (this.barriers) this.settleBarrier(ev.token, true);
        return;
      case 'fatal':
        this.fatal ??= ev.reason;
        return;
      case 'logged-in':
        // Before 001 only SASL logs in; later 900s are services logins (IDENTIFY, CertFP on connect).
        if (this._state === 'connecting') this.emit('sasl', { ok: true, account: ev.account });
        return;
      case 'sasl-failed':
        // The numeric carries the server's words; it replaces irc-framework's terse 'sasl failed' reason.
        if (
          this._state === 'connecting' &&
          this.options.sasl &&
          !(this.options.sasl.mechanism === 'EXTERNAL' && this.options.sasl.optional) &&
          (!this.fatal || this.fatal.kind === 'sasl_failed')
        ) {
          this.fatal = saslFailure(ev.numeric, ev.text, this.options.sasl.mechanism);
        }
        this.emit('soft-error', ev.error);
        return;
      case 'nick-refused':
        if (this._state === 'connecting') this.nextRegistrationNick(ev.error);
        else this.emit('soft-error', ev.error);
        return;
      case 'message':
      case 'ctcp':
        if (ev.echo && this.echoes.size) this.echoes.echoed(ev.echo.command, ev.echo.target, ev.echo.text, ev.echo.msgid);
        if (ev.type === 'message') this.emit('message', ev.message);
        else this.emit('ctcp', ev.ctcp);
        return;
      case 'join':
        if (ev.join.self) this.updateHost(ev.join.who.user, ev.join.who.host);
        this.emit('join', ev.join);
        return;
      case 'nick':
        if (ev.nick.self) this.identity.nick = ev.nick.newNick;
        this.emit('nick', ev.nick);
        return;
      case 'names-reply': {
        const names = (this.namesBuffer ??= new Map<string, Array<{ nick: string; prefixes: string }>>());
        names.set(ev.channel, [...(names.get(ev.channel) ?? []), ...ev.users]);
        return;
      }
      case 'names-end': {
        const users = this.namesBuffer?.get(ev.channel) ?? [];
        this.namesBuffer?.delete(ev.channel);
        if (!this.namesBuffer?.size) this.namesBuffer = undefined;
        this.emit('names', { channel: ev.channel, users });
        return;
      }
      case 'numeric':
        if (ev.refusedMessageTo !== undefined) this.echoes.refused(ev.refusedMessageTo);
        if (ev.softError && this._state === 'registered') this.emit('soft-error', ev.softError);
        return;
      case 'relay':
        this.emit(ev.name, ...ev.args);
        return;
    }
  }

  /** 001: registered. The connection is announced once the 005 lines that follow have sized its limits. */
  private onWelcome(nick: string, user: string | undefined, host: string | undefined): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.identity.nick = nick;
    this.updateHost(user, host);
    this._state = 'registered';
    this.queue.resume();
    if (this.options.userModes) {
      const modes =
        this.options.userModes.startsWith('+') || this.options.userModes.startsWith('-')
          ? this.options.userModes
          : `+${this.options.userModes}`;
      if (/^[+-][A-Za-z+-]*$/.test(modes)) void this.enqueue('MODE', [this.identity.nick, modes]);
    }
    // User modes do not survive a reconnect: deafness is asked for again.
    if (this.deaf?.on) void this.enqueue('MODE', [this.identity.nick, `+${this.deaf.letter}`], undefined, undefined, { urgent: true });
    // Announce after the 005 lines that follow 001 (they size our limits): at end of MOTD,
    // or shortly after 001 on servers that send no MOTD reply.
    this.announceRegistered = () => {
      this.announceRegistered = null;
      this._isupport = internIsupport(this._isupport);
      if (this.registerTimer) clearTimeout(this.registerTimer);
      this.registerTimer = null;
      const ev: RegisteredEvent = {
        ...this.self,
        requestedNick: this.options.nick,
        isupport: this._isupport,
        caps: this.caps,
        ...(this.myInfo ? { server: this.myInfo } : {}),
      };
      this.emit('registered', ev);
      const c = this.connecting;
      this.connecting = null;
      c?.resolve(ev);
    };
    this.registerTimer = setTimeout(() => this.announceRegistered?.(), 2000);
  }

  private setCaps(caps: readonly string[]): void {
    this.caps = sharedCaps.intern(caps.join(' '), Object.freeze(caps.slice()));
  }

  private nextRegistrationNick(reason: SoftError): void {
    const max = this.options.nickAttempts ?? 5;
    const requested = this.identity.nick;
    this.nickAttempt++;
    if (this.nickAttempt > max) {
      this.fatal ??= {
        class: 'retryable',
        kind: 'server_closed',
        message: `No usable nick: ${reason.message}`,
        detail: reason.detail,
        retryAfterMs: 60_000,
      };
      this.destroySocket();
      return;
    }
    const next = fallbackNick(this.options.nick, this.nickAttempt, this._isupport.nickLen);
    this.identity.nick = next;
    this.client?.connection.write(buildLine('NICK', [next]));
    this.emit('nick-fallback', { requested, nick: next, reason });
  }

  private onSocketClose(client: IfClient): void {
    if (client !== this.client) return;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (this.registerTimer) clearTimeout(this.registerTimer);
    this.registerTimer = null;
    this.announceRegistered = null;
    this.queue.pause();
    this._state = 'closed';
    const reason: Disconnect = this.quitRequested
      ? { class: 'retryable', kind: 'requested', message: 'Disconnected from IRC.' }
      : this.fatal
        ? refineWithErrorText(this.fatal, this.errorText)
        : this.errorText !== null
          ? classifyErrorText(this.errorText)
          : this.socketError
            ? classifySocketError(this.socketError)
            : { class: 'retryable', kind: 'server_closed', message: 'The IRC server closed the connection.' };
    const pending = this.queue.takeAll().map((q) => q.item);
    let adopted = false;
    const event: DisconnectedEvent = {
      reason,
      unconfirmed: this.echoes.clear(),
      pending,
      adopt: () => {
        adopted = true;
        return pending.slice();
      },
    };
    this.namesBuffer = undefined;
    if (this.barriers) for (const token of [...this.barriers.keys()]) this.settleBarrier(token, false);
    const c = this.connecting; // null once connect() has resolved
    this.connecting = null;
    c?.reject(new IrcConnectionError(reason));
    this.emit('disconnected', event);
    if (!adopted) for (const l of pending) l.settle({ ok: false, reason: reason.message });
  }
}

/**
 * A 465 only says "banned"; the ERROR that follows tells which ban. InspIRCd sends its generic
 * xlinemessage with 465 even for a temporary connectban Z-line, so the ERROR text decides.
 */
function refineWithErrorText(fatal: Disconnect, errorText: string | null): Disconnect {
  if (errorText === null) return fatal;
  const fromError = classifyErrorText(errorText);
  if (fatal.kind === 'banned' && fromError.kind === 'temporary_ban') return fromError;
  return { ...fatal, detail: errorText };
}

function stripAction(trailing: string): string {
  return trailing.replace(/^\x01ACTION /, '').replace(/\x01$/, '');
}

/** The flood queue's `prepare`: the lines' beforeWrite hooks, one promise for all of them (none when none has one). */
function beforeWrites(lines: OutgoingLine[]): Promise<void> | undefined {
  let waits: Array<Promise<void>> | undefined;
  for (const l of lines) {
    const w = l.beforeWrite?.();
    if (w) (waits ??= []).push(w);
  }
  return waits && Promise.all(waits).then(() => undefined);
}

/** Settles the original once: failure on the first failing piece, success after all pieces. */
function onceSettler(pieces: number, settle: (r: LineResult) => void): (r: LineResult) => void {
  let left = pieces;
  let done = false;
  let maxDelay = 0;
  return (r) => {
    if (done) return;
    if (!r.ok) {
      done = true;
      settle(r);
      return;
    }
    maxDelay = Math.max(maxDelay, r.queueDelayMs);
    if (--left === 0) {
      done = true;
      settle({ ok: true, queueDelayMs: maxDelay });
    }
  };
}

/** The host of this attempt: `host` or one of `additionalHosts`, at random (spreads users over a network's servers). */
export function pickHost(o: Pick<IrcConnectionOptions, 'host' | 'additionalHosts' | 'onlyAdditionalHosts'>, random = Math.random): string {
  const extra = o.additionalHosts ?? [];
  const hosts = o.onlyAdditionalHosts && extra.length ? extra : [o.host, ...extra];
  return hosts[Math.floor(random() * hosts.length)] ?? o.host;
}
