/**
 * The IRC connections of Matrix users on one network (one per user), on top of
 * the IRC layer's pool (rate-limited connects, backoff, outbox, max clients
 * with least-recently-active eviction, idle timeout).
 *
 * What the user notices is decided here: the nick they get (template or the
 * one they chose, collisions resolved by the IRC layer's predictable fallback
 * sequence and *told* to them), and every message that could not be delivered
 * is reported to them with the reason, never dropped silently. Transient
 * reconnects are not announced (MAI #384: per-disconnect notices load the HS).
 */
import { readFileSync } from 'node:fs';
import type { BridgeContext } from '@causeway/bridge-core';
import {
  IrcCaseMap,
  IrcConnectionPool,
  type ConnectScheduler,
  type IrcConnection,
  type PooledClient,
  type ServerOptions,
  type UserConnectionOptions,
  type MessageKind,
  type Disconnect,
  type ConnectionObserver,
} from '../irc';
import type { IrcConfig, ServerConfig } from '../config-schema';
import type { SecretStore } from '@causeway/bridge-core';
import { openSecrets } from '../passwords';
import { ClientCertificateStore, CERTIFICATES_NAMESPACE } from '../certfp/store';
import { fingerprintsOf } from '../certfp/fingerprint';
import { ipv6For, nickFromTemplate, realnameFor, usernameFor } from './identity';
import { credentialsFor, usesOwnCertificate } from './credentials';
import { CertificateLoginFeedback } from './certificate-login';
import type { ReconnectDelay } from './reconnect-delay';

export interface UserConnectionsDeps {
  network: string;
  cfg: ServerConfig;
  ctx: BridgeContext<IrcConfig>;
  passwords: SecretStore;
  scheduler: ConnectScheduler;
  server: ServerOptions;
  /** The wait before each reconnect (reconnect-delay.ts). */
  reconnectDelay: ReconnectDelay;
  /** Wire the IRC event listeners of a new connection (once per user; the object survives reconnects). */
  attach(userId: string, conn: IrcConnection): void;
  /** A user's connection is gone (released, evicted, failed): forget its channel memberships. */
  detach(userId: string): void;
}

/** Where users' chosen nicks and usernames are kept (per network and user); also written by the MAI importer. */
export const STORED_NICKS = 'nicks';
export const STORED_USERNAMES = 'usernames';
/** The key of a user's stored nick or username on a network. */
export const userKey = (network: string, userId: string) => `${network}\u0000${userId}`;

/**
 * The idle timeout in effect (0: none). Mirrored membership means a room member is on the
 * channel; disconnecting them for silence would break that (and hold back every line under the
 * privacy filter), so, as in MAI, `clients.idle_timeout_s` applies only without it.
 */
export function idleTimeoutS(cfg: ServerConfig): number {
  return cfg.membership.matrix_to_irc.incremental ? 0 : cfg.clients.idle_timeout_s;
}

export class UserConnections {
  readonly pool: IrcConnectionPool;
  /** Users' own client certificates for this network (`!certfp`), sealed like their passwords. */
  readonly certificates: ClientCertificateStore;
  /** Tells users whether their own certificate logged them in. */
  readonly certificateLogin: CertificateLoginFeedback;
  /** Current nick → Matrix user, for echo suppression and pills. */
  private readonly byNick = new IrcCaseMap<string>();
  private readonly nickOfUser = new Map<string, string>();
  /** The last fallback nick we told each user about, so reconnects do not repeat the notice. */
  private readonly toldNick = new Map<string, string>();
  private readonly attached = new WeakSet<IrcConnection>();
  private readonly acquiring = new Map<string, Promise<PooledClient>>();
  private shuttingDown = false;

  constructor(private readonly d: UserConnectionsDeps) {
    const c = d.cfg.clients;
    this.pool = new IrcConnectionPool({
      server: d.server,
      maxClients: c.max_clients,
      idleTimeoutMs: idleTimeoutS(d.cfg) * 1000,
      scheduler: d.scheduler,
      reconnectDelay: d.reconnectDelay,
      outbox: { maxEntries: c.queue.max_messages, maxAgeMs: c.queue.max_age_s * 1000 },
      onUndelivered: (userId, message, reason) => this.tellUndelivered(userId, message, reason),
    });
    this.certificates = new ClientCertificateStore(openSecrets(d.ctx, CERTIFICATES_NAMESPACE));
    const serverArg = Object.keys(d.ctx.config.servers).length > 1 ? `${d.network} ` : '';
    this.certificateLogin = new CertificateLoginFeedback(d.network, serverArg, (userId, text) => this.tell(userId, text));
    this.pool.on('connected', (userId, info) => {
      this.setNick(userId, info.nick);
      if (info.nick !== info.requestedNick && this.toldNick.get(userId) !== info.nick) {
        this.toldNick.set(userId, info.nick);
        this.tell(
          userId,
          `The nick ${info.requestedNick} is already in use on ${d.network}, so you are connected as ${info.nick}.` +
            (c.allow_nick_changes ? ' Use !nick to choose another.' : ''),
        );
      }
    });
    this.pool.on('unconfirmed', (userId, lines) => this.tellUnconfirmed(userId, lines));
    this.pool.on('failed', (userId, reason) => {
      this.tell(
        userId,
        `Could not stay connected to ${d.network}: ${describe(reason)} The bridge will not retry; use !reconnect once the problem is solved.`,
      );
    });
    this.pool.on('evicted', (userId, why) => {
      this.forget(userId);
      this.tell(
        userId,
        why === 'idle'
          ? `You were disconnected from ${d.network} after being idle; your next message reconnects you.`
          : `You were disconnected from ${d.network}: the bridge reached its connection limit. Your next message reconnects you.`,
      );
    });
  }

  private tell(userId: string, text: string): void {
    this.d.ctx.notify.notice(userId, text).catch((err) => this.d.ctx.log.warn('could not notify user', { userId, err: String(err) }));
  }

  /**
   * MAI lost these silently: lines written just before a connection died (a dead link, a hung
   * server) that the server never confirmed. They are not re-sent (a server that was only hung
   * still has them); the user learns which ones may be missing.
   */
  private tellUnconfirmed(userId: string, lines: ReadonlyArray<{ target: string; text: string }>): void {
    const shown = lines.slice(0, 3).map((l) => {
      const text = l.text.replace(/^\x01ACTION |\x01$/g, '').replace(/[\x00-\x1f]/g, '');
      return `${l.target}: "${text.length > 80 ? `${text.slice(0, 80)}…` : text}"`;
    });
    const more = lines.length > 3 ? ` and ${lines.length - 3} more` : '';
    this.tell(
      userId,
      `Your connection to ${this.d.network} dropped before the server confirmed ${lines.length === 1 ? 'this line' : `these ${lines.length} lines`}; ` +
        `${lines.length === 1 ? 'it' : 'they'} may not have reached IRC: ${shown.join(', ')}${more}.`,
    );
  }

  private tellUndelivered(userId: string, message: { kind: MessageKind; target: string; text: string }, reason: string): void {
    // Stopping: what was not sent stays stored and goes out after the next start (durable-lines.ts).
    if (this.shuttingDown) return;
    const preview = message.text.length > 80 ? `${message.text.slice(0, 80)}…` : message.text;
    this.tell(
      userId,
      `Your message to ${message.target} on ${this.d.network} was not delivered: "${preview.replace(/[\x00-\x1f]/g, '')}" — ${reason}`,
    );
  }

  /** Each user's connection, tagged with the user (one observer for all of them). */
  private readonly connectionEvents: ConnectionObserver<string> = {
    nick: (userId, ev) => {
      if (ev.self) this.setNick(userId, ev.newNick);
    },
    disconnected: (userId) => this.d.detach(userId),
  };

  private setNick(userId: string, nick: string): void {
    const old = this.nickOfUser.get(userId);
    if (old && this.byNick.get(old) === userId) this.byNick.delete(old);
    this.nickOfUser.set(userId, nick);
    this.byNick.set(nick, userId);
  }

  private forget(userId: string): void {
    const nick = this.nickOfUser.get(userId);
    if (nick && this.byNick.get(nick) === userId) this.byNick.delete(nick);
    this.nickOfUser.delete(userId);
    this.d.detach(userId);
  }

  userForNick(nick: string): string | undefined {
    return this.byNick.get(nick);
  }

  nickOf(userId: string): string | undefined {
    return this.nickOfUser.get(userId);
  }

  get(userId: string): PooledClient | undefined {
    const c = this.pool.get(userId);
    return c && c.status !== 'stopped' ? c : undefined;
  }

  users(): string[] {
    return this.pool.keys();
  }

  async storedNick(userId: string): Promise<string | undefined> {
    return this.d.ctx.data.get<string>(STORED_NICKS, userKey(this.d.network, userId));
  }

  async rememberNick(userId: string, nick: string): Promise<void> {
    await this.d.ctx.data.put(STORED_NICKS, userKey(this.d.network, userId), nick);
  }

  /** The username (ident) a user chose with `!username`, if any; else one derived from their ID. */
  async usernameOf(userId: string): Promise<string> {
    return (await this.d.ctx.data.get<string>(STORED_USERNAMES, userKey(this.d.network, userId))) ?? usernameFor(userId);
  }

  async rememberUsername(userId: string, username: string): Promise<void> {
    await this.d.ctx.data.put(STORED_USERNAMES, userKey(this.d.network, userId), username);
  }

  /** Never connected: matched by `excluded_users`, or not allowed to use the bridge at all (`bridge.permissions.users`). */
  isExcluded(userId: string): boolean {
    this.excluded ??= this.d.cfg.excluded_users.map((re) => new RegExp(re)); // validated by the config schema (format: regex)
    return this.excluded.some((re) => re.test(userId)) || !this.d.ctx.mayUseBridge(userId);
  }
  private excluded?: RegExp[];

  /** The user's connection, created (and connecting, lazily) on first use. */
  async clientFor(userId: string, displayName?: string): Promise<PooledClient> {
    const existing = this.get(userId);
    if (existing) return existing;
    const pending = this.acquiring.get(userId);
    if (pending) return pending;
    const p = this.create(userId, displayName).finally(() => this.acquiring.delete(userId));
    this.acquiring.set(userId, p);
    return p;
  }

  private async create(userId: string, displayName?: string): Promise<PooledClient> {
    const c = this.d.cfg.clients;
    const who = { userId, displayName };
    const nick = (c.allow_nick_changes ? await this.storedNick(userId) : undefined) ?? nickFromTemplate(c.nick_template, who);
    const username = await this.usernameOf(userId);
    const [password, certificate] = await Promise.all([
      this.d.passwords.get(this.d.network, userId).catch((err) => {
        this.d.ctx.log.warn('stored IRC password unreadable', { userId, err: String(err) });
        return undefined;
      }),
      this.certificates.get(this.d.network, userId).catch((err) => {
        this.d.ctx.log.warn('stored client certificate unreadable', { userId, err: String(err) });
        return undefined;
      }),
    ]);
    const stored = { password, certificate };
    const opts: UserConnectionOptions = {
      nick,
      username,
      realname: realnameFor(c.realname_format, who),
      ...credentialsFor(this.d.cfg, nick, stored, () => clientCertificateOf(this.d.cfg)),
    };
    if (c.ipv6_prefix) opts.outgoingAddress = ipv6For(c.ipv6_prefix, userId);
    if (c.user_modes) opts.userModes = c.user_modes;
    const client = this.pool.acquire(userId, opts);
    if (!this.attached.has(client.connection)) {
      this.attached.add(client.connection);
      // The nick is recorded once registered ('connected'): before that it may still fall back
      // to another one, and claiming it here would steal the mapping of the user who holds it.
      client.connection.observe(this.connectionEvents, userId);
      if (certificate && usesOwnCertificate(this.d.cfg, stored)) {
        this.certificateLogin.watch(userId, client.connection, fingerprintsOf(certificate.certificate).sha256);
      }
      this.d.attach(userId, client.connection);
    }
    return client;
  }

  /** Disconnects a user (e.g. !quit, !reconnect); queued messages are reported as not delivered. */
  async release(userId: string, reason: string, quitMessage = ''): Promise<void> {
    await this.pool.release(userId, reason, quitMessage);
    this.forget(userId);
  }

  shutdown(): Promise<void> {
    this.shuttingDown = true;
    return this.pool.shutdown('Bridge shutting down');
  }
}

/**
 * The network's client certificate (`tls.client_certificate`), presented by the relay bot and by
 * every user without a certificate of their own (`!certfp generate`, see ./credentials): one
 * certificate, so SASL EXTERNAL logs those connections in to the one account it is registered
 * to. Read at connect time, so a renewed certificate is used by the next connection.
 */
export function clientCertificateOf(cfg: ServerConfig): { certificate: string; privateKey: string } | undefined {
  const cert = cfg.tls.client_certificate;
  if (!cert) return undefined;
  return { certificate: readFileSync(cert.certificate_file, 'utf8'), privateKey: readFileSync(cert.private_key_file, 'utf8') };
}

function describe(reason: Disconnect): string {
  const detail = reason.detail && !reason.message.includes(reason.detail) ? ` (${reason.detail})` : '';
  return `${reason.message}${detail}`.replace(/\.?$/, '.');
}
