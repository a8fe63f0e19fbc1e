// What IrcConnection takes and gives: its options, the events it emits, what sending reports.
import type { FloodQueueOptions } from './flood-queue';
import type { MessageKind } from './line-splitter';
import type { Isupport, ModeChange } from './isupport';
import type { Disconnect, SoftError } from './errors';
import type { Observer } from './observable-events';

export interface SaslPlain {
  mechanism: 'PLAIN';
  account: string;
  password: string;
}
export interface SaslExternal {
  mechanism: 'EXTERNAL';
  /**
   * Try it, but register without logging in when the server lacks SASL EXTERNAL or refuses the
   * certificate (a user's own certificate must still connect so they can `CERT ADD` it); the
   * outcome is reported by the `sasl` event instead of failing the connection.
   */
  optional?: boolean;
}

export interface IrcConnectionOptions {
  host: string;
  /** Other hosts of the same network; each connect picks one of these and `host` at random. */
  additionalHosts?: string[];
  /** Pick only among `additionalHosts`. */
  onlyAdditionalHosts?: boolean;
  port: number;
  nick: string;
  username: string;
  realname: string;
  /** Server password sent as PASS. */
  password?: string;
  sasl?: SaslPlain | SaslExternal;
  /** Use TLS. */
  tls?: boolean;
  /** Accept self-signed or otherwise unverifiable certificates (explicit opt-in). */
  allowSelfSigned?: boolean;
  /** PEM client certificate (CertFP / SASL EXTERNAL). */
  clientCertificate?: { privateKey: string; certificate: string };
  /** Local source address (e.g. a per-user IPv6 address from a prefix). */
  outgoingAddress?: string;
  /** User modes set right after registration, e.g. "+x". */
  userModes?: string;
  /** Give up if 001 has not arrived in this time (default 30 s). */
  connectTimeoutMs?: number;
  pingIntervalSec?: number;
  pingTimeoutSec?: number;
  flood?: FloodQueueOptions;
  /** How many deterministic fallback nicks to try on 433/432 at registration (default 5). */
  nickAttempts?: number;
  /** Request echo-message (our own lines come back with msgid/server-time). */
  echoMessage?: boolean;
  /** Charset for inbound/outbound text when the network is not UTF-8. */
  encoding?: string;
  /**
   * Told what the connection dropped rather than fail on (see ConnectionProblem), with the
   * connection's current nick. Without it, problems go to stderr.
   */
  onProblem?: (problem: ConnectionProblem, nick: string) => void;
}

/**
 * Something from the network the connection dropped instead of letting it end the process: the
 * connection stays up and carries on with the next line.
 */
export type ConnectionProblem =
  /** An observer or listener of this connection threw on an event (the others still had it). */
  | { kind: 'observer-failed'; event: string; error: unknown }
  /** A server line the connection could not handle (too few parameters, or its parse threw). */
  | { kind: 'malformed-line'; line: string; reason: string }
  /** A server line longer than IRC allows (line-reader.ts), dropped unread. */
  | { kind: 'line-too-long'; bytes: number };

export interface Identity {
  nick: string;
  user: string;
  host: string;
}

export interface RegisteredEvent extends Identity {
  requestedNick: string;
  isupport: Isupport;
  caps: readonly string[];
  /** From RPL_MYINFO (004), when the server sent it: its version string and the user modes it has. */
  server?: { version: string; userModes: string };
}

export interface Sender {
  nick: string;
  user?: string;
  host?: string;
}

export interface IncomingMessage {
  kind: MessageKind;
  from: Sender;
  target: string;
  /** True when target is a channel; false for a private message to us. */
  isChannel: boolean;
  /** Text with the CTCP ACTION wrapper removed (formatting codes kept). */
  text: string;
  /** server-time tag, or receipt time. */
  time: Date;
  msgid?: string;
  account?: string;
  /** Our own line echoed back (echo-message). */
  isEcho: boolean;
  tags: Record<string, string | true>;
}

export interface ConnectionEvents {
  registered: [RegisteredEvent];
  'nick-fallback': [{ requested: string; nick: string; reason: SoftError }];
  'nick-change-failed': [{ requested: string; nick: string; reason: SoftError }];
  'host-changed': [Identity];
  message: [IncomingMessage];
  ctcp: [{ from: Sender; target: string; command: string; args: string; time: Date }];
  join: [{ channel: string; who: Sender; account?: string; self: boolean; time: Date }];
  part: [{ channel: string; who: Sender; reason: string; self: boolean; time: Date }];
  quit: [{ who: Sender; reason: string; self: boolean; time: Date }];
  kick: [{ channel: string; nick: string; by: Sender; reason: string; self: boolean; time: Date }];
  nick: [{ oldNick: string; newNick: string; self: boolean; time: Date }];
  topic: [{ channel: string; topic: string; setBy?: string; time: Date }];
  mode: [{ target: string; by: Sender; changes: ModeChange[]; raw: string[]; time: Date }];
  /** A channel's current modes (324 RPL_CHANNELMODEIS, the answer to a MODE query): all of them, as additions. */
  'channel-modes': [{ channel: string; changes: ModeChange[]; time: Date }];
  names: [{ channel: string; users: { nick: string; prefixes: string }[] }];
  invite: [{ channel: string; by: Sender; time: Date }];
  'soft-error': [SoftError];
  /** SASL outcome during registration: logged in (900 RPL_LOGGEDIN), or an optional EXTERNAL attempt that did not. */
  sasl: [{ ok: true; account: string } | { ok: false; reason: string; detail?: string }];
  disconnected: [DisconnectedEvent];
}

export type LineResult = { ok: true; queueDelayMs: number } | { ok: false; reason: string };

/** A line waiting in the flood queue; survives a disconnect if someone adopts it. */
export interface OutgoingLine {
  command: string;
  middle: string[];
  trailing?: string;
  /** For message text: lets a new line budget re-split it after a reconnect. */
  kind?: MessageKind;
  /** IRCv3 tags; written only while the connection has the message-tags cap, else left off. */
  tags?: Readonly<Record<string, string>>;
  /** Called with the msgid the server gave the line, when echo-message is on. */
  onEcho?: (msgid: string) => void;
  /**
   * Called right before the line is written (for each line, if it was split); a returned promise
   * holds the write, and the lines behind it, until it settles. The bridge stores there that the
   * line is being sent, so after a crash it knows the line may have gone out.
   */
  beforeWrite?: () => Promise<void> | undefined;
  createdAt: number;
  settle: (result: LineResult) => void;
}

/** Extras for one message (see IrcConnection.sendMessage). */
export interface SendOptions {
  /**
   * Tags for the first line only (e.g. `+draft/reply`): a reply split over three lines is still one
   * reply. Dropped when the server has not enabled message-tags for this connection.
   */
  firstLineTags?: Readonly<Record<string, string>>;
  /** Called once per line, in line order, with the msgid the server gave it (needs echo-message). */
  onEcho?: (msgid: string) => void;
  /** See OutgoingLine.beforeWrite; given to each line of the message. */
  beforeWrite?: () => Promise<void> | undefined;
  /** When the message was first queued, if before now (restored after a restart): the outbox's age limit counts from it. */
  queuedAt?: number;
}

export interface DisconnectedEvent {
  reason: Disconnect;
  /**
   * Lines written on the connection whose echo (echo-message) had not come back when it dropped:
   * the server never confirmed them, so they may not have arrived. Empty without echo-message.
   */
  unconfirmed: ReadonlyArray<{ command: string; target: string; text: string }>;
  /** Lines still queued. Call adopt() to take them (e.g. to resend after reconnect); otherwise they are reported as not delivered. */
  pending: readonly OutgoingLine[];
  adopt(): OutgoingLine[];
}

export interface SendReport {
  delivered: boolean;
  /** Lines the message became. */
  lines: number;
  /** Lines actually written. */
  sent: number;
  reason?: string;
  /** Longest wait in the flood queue among its lines. */
  queueDelayMs: number;
}

export class IrcConnectionError extends Error {
  constructor(public readonly disconnect: Disconnect) {
    super(`${disconnect.message}${disconnect.detail ? ` (${disconnect.detail})` : ''}`);
    this.name = 'IrcConnectionError';
  }
}

export type ConnectionState = 'idle' | 'connecting' | 'registered' | 'closed';

export interface WhoisResult {
  nick: string;
  user?: string;
  host?: string;
  realname?: string;
  server?: string;
  account?: string;
  channels: string[];
  idleSeconds?: number;
}

/**
 * Takes a connection's events as method calls, each with the `tag` it was registered with (see
 * IrcConnection.observe). One observer serves every connection of a network or pool: a bridge
 * holds one connection per user, and a closure per event per connection (~20 of them) was a
 * tenth of its memory per user.
 */
export type ConnectionObserver<T> = Observer<ConnectionEvents, T>;
