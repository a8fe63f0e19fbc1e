// What a line from the server means, as a typed event: registration numerics, caps, host changes,
// errors, and the channel and chat events the connection passes on to its observers. Reading a
// line changes nothing; the connection (connection.ts) applies each event to its state and
// decides what to emit, so every rule about what a line *says* lives here and every rule about
// what the connection *does* lives there.
import { classifyFatalNumeric, classifySoftNumeric, isSoftErrorNumeric, type Disconnect, type SoftError } from './errors';
import { parseModeChanges, type Isupport } from './isupport';
import type { IfMessage } from './irc-framework';
import type { ConnectionEvents, IncomingMessage, Sender } from './connection-types';
import type { MessageKind } from './line-splitter';

/**
 * Numerics that only ever answer a PRIVMSG/NOTICE, with its target as the second parameter:
 * 404 ERR_CANNOTSENDTOCHAN, 486 ERR_NONONREG, 531 ERR_CANTSENDTOUSER, 716 ERR_TARGUMODEG.
 * (401 no such nick also answers WHOIS and MODE, so it cannot say which line it refuses.)
 */
const REFUSES_MESSAGE = new Set(['404', '486', '531', '716']);

/** What reading a line needs from the connection: the server's ISUPPORT, and who we are. */
export interface ReadContext {
  /** The server's ISUPPORT as known when the line is read (it grows during registration). */
  isupport(): Isupport;
  isSelf(nick: string | undefined): boolean;
  isChannel(target: string): boolean;
}

/** Events the connection emits to its observers exactly as read. */
type RelayedEventName = 'part' | 'quit' | 'kick' | 'topic' | 'mode' | 'channel-modes' | 'invite';
type RelayedEvent = { [K in RelayedEventName]: { type: 'relay'; name: K; args: ConnectionEvents[K] } }[RelayedEventName];

/** Our own PRIVMSG/NOTICE echoed with its msgid (echo-message): the raw line, as it was sent. */
interface OwnEcho {
  command: string;
  target: string;
  text: string;
  msgid: string;
}

export type InboundEvent =
  /** 001 RPL_WELCOME: registered under `nick`; InspIRCd's welcome ends with nick!user@host, our first view of the real host. */
  | { type: 'welcome'; nick: string; user?: string; host?: string }
  /** 376 end of MOTD, or 422 no MOTD: the 005 lines that size our limits have all come. */
  | { type: 'motd-end' }
  /** 004 RPL_MYINFO: the server's version and user modes. */
  | { type: 'server-info'; version: string; userModes: string }
  /** 005 RPL_ISUPPORT tokens. */
  | { type: 'isupport'; tokens: string[] }
  | { type: 'caps-acked'; caps: string[] }
  | { type: 'caps-removed'; caps: string[] }
  /** Our user@host as others see it changed: 396 (cloak or vhost applied) or our own CHGHOST. */
  | { type: 'own-host'; user?: string; host?: string }
  /** ERROR: the server's last words before it closes the connection. */
  | { type: 'error'; text: string }
  | { type: 'pong'; token: string }
  /** 463/464/465: refused for good (bad password, banned, …). */
  | { type: 'fatal'; reason: Disconnect }
  /** 900 RPL_LOGGEDIN. */
  | { type: 'logged-in'; account: string }
  /** 902/904/905/906: SASL failed, in the server's words. */
  | { type: 'sasl-failed'; numeric: string; text: string; error: SoftError }
  /** 432/433/436/437: the nick we asked for was refused. */
  | { type: 'nick-refused'; error: SoftError }
  | { type: 'message'; message: IncomingMessage; echo?: OwnEcho }
  | { type: 'ctcp'; ctcp: ConnectionEvents['ctcp'][0]; echo?: OwnEcho }
  | { type: 'join'; join: ConnectionEvents['join'][0] }
  | { type: 'nick'; nick: ConnectionEvents['nick'][0] }
  /** 353 RPL_NAMREPLY: some of a channel's members (more may follow until 366). */
  | { type: 'names-reply'; channel: string; users: Array<{ nick: string; prefixes: string }> }
  /** 366 RPL_ENDOFNAMES. */
  | { type: 'names-end'; channel: string }
  /** Any other numeric: a refusal of one of our messages (its target), a soft error, or both. */
  | { type: 'numeric'; refusedMessageTo?: string; softError?: SoftError }
  | RelayedEvent;

/** The event a line from the server carries; undefined when nothing in it concerns the connection. */
export function readInbound(msg: IfMessage, c: ReadContext): InboundEvent | undefined {
  const p = msg.params;
  const last = p[p.length - 1] ?? '';
  const time = parseServerTime(msg.tags);
  const from: Sender = { nick: msg.nick ?? msg.prefix ?? '', user: msg.ident || undefined, host: msg.hostname || undefined };
  switch (msg.command) {
    case '001': {
      const mask = /(\S+)!(\S+)@(\S+)\s*$/.exec(last);
      return { type: 'welcome', nick: p[0], ...(mask ? { user: mask[2], host: mask[3] } : {}) };
    }
    case '376':
    case '422':
      return { type: 'motd-end' };
    case '004':
      return p.length >= 4 ? { type: 'server-info', version: p[2], userModes: p[3] } : undefined;
    case '005':
      return { type: 'isupport', tokens: p.slice(1, -1) };
    case 'CAP':
      if (p[1] === 'ACK') return { type: 'caps-acked', caps: last.split(' ').filter(Boolean) };
      if (p[1] === 'DEL') return { type: 'caps-removed', caps: last.split(' ') };
      return undefined;
    case '396': {
      const shown = p[1];
      return shown?.includes('@')
        ? { type: 'own-host', user: shown.split('@')[0], host: shown.split('@')[1] }
        : { type: 'own-host', host: shown };
    }
    case 'CHGHOST':
      return c.isSelf(msg.nick) ? { type: 'own-host', user: p[0], host: p[1] } : undefined;
    case 'ERROR':
      return { type: 'error', text: last };
    case 'PONG':
      return { type: 'pong', token: last };
    case '463':
    case '464':
    case '465': {
      const reason = classifyFatalNumeric(msg.command, last);
      return reason ? { type: 'fatal', reason } : undefined;
    }
    case '900': // RPL_LOGGEDIN <nick> <nick!user@host> <account> :text
      return p[2] ? { type: 'logged-in', account: p[2] } : undefined;
    case '902':
    case '904':
    case '905':
    case '906':
      return { type: 'sasl-failed', numeric: msg.command, text: last, error: classifySoftNumeric(msg.command, p) };
    case '432':
    case '433':
    case '436':
    case '437':
      return { type: 'nick-refused', error: classifySoftNumeric(msg.command, p) };
    case 'PRIVMSG':
    case 'NOTICE':
      return readChat(msg, from, time, c);
    case 'JOIN': {
      const account = p.length >= 3 && p[1] !== '*' ? p[1] : typeof msg.tags.account === 'string' ? msg.tags.account : undefined;
      return { type: 'join', join: { channel: p[0], who: from, account, self: c.isSelf(msg.nick), time } };
    }
    case 'PART':
      return { type: 'relay', name: 'part', args: [{ channel: p[0], who: from, reason: p[1] ?? '', self: c.isSelf(msg.nick), time }] };
    case 'QUIT':
      return { type: 'relay', name: 'quit', args: [{ who: from, reason: p[0] ?? '', self: c.isSelf(msg.nick), time }] };
    case 'KICK':
      return {
        type: 'relay',
        name: 'kick',
        args: [{ channel: p[0], nick: p[1], by: from, reason: p[2] ?? '', self: c.isSelf(p[1]), time }],
      };
    case 'NICK':
      return { type: 'nick', nick: { oldNick: msg.nick ?? '', newNick: p[0], self: c.isSelf(msg.nick), time } };
    case 'TOPIC':
      return { type: 'relay', name: 'topic', args: [{ channel: p[0], topic: p[1] ?? '', setBy: msg.nick, time }] };
    case '332':
      return { type: 'relay', name: 'topic', args: [{ channel: p[1], topic: p[2] ?? '', time }] };
    case 'MODE': {
      const target = p[0];
      // A user's modes have no prefix or list modes: every letter is a flag.
      const changes = c.isChannel(target)
        ? parseModeChanges(p[1] ?? '', p.slice(2), c.isupport())
        : parseModeChanges(p[1] ?? '', [], { ...c.isupport(), prefixes: [], chanModes: ['', '', '', ''] });
      return { type: 'relay', name: 'mode', args: [{ target, by: from, changes, raw: p.slice(1), time }] };
    }
    case '324':
      return p[1] && c.isChannel(p[1])
        ? {
            type: 'relay',
            name: 'channel-modes',
            args: [{ channel: p[1], changes: parseModeChanges(p[2] ?? '', p.slice(3), c.isupport()), time }],
          }
        : undefined;
    case '353':
      return { type: 'names-reply', channel: p[2], users: namesOf(p[3] ?? '', c.isupport()) };
    case '366':
      return { type: 'names-end', channel: p[1] };
    case 'INVITE':
      return { type: 'relay', name: 'invite', args: [{ channel: p[1], by: from, time }] };
    default: {
      // A refused PRIVMSG/NOTICE never echoes: the connection stops waiting for it.
      const refusedMessageTo = REFUSES_MESSAGE.has(msg.command) && p[1] !== undefined ? p[1] : undefined;
      const softError = /^\d{3}$/.test(msg.command) && isSoftErrorNumeric(msg.command) ? classifySoftNumeric(msg.command, p) : undefined;
      return refusedMessageTo !== undefined || softError ? { type: 'numeric', refusedMessageTo, softError } : undefined;
    }
  }
}

/** A 353 list: each entry's leading prefix symbols (per ISUPPORT PREFIX) and nick (userhost-in-names cut off). */
function namesOf(list: string, isupport: Isupport): Array<{ nick: string; prefixes: string }> {
  const symbols = isupport.prefixes.map((x) => x.symbol).join('');
  const users: Array<{ nick: string; prefixes: string }> = [];
  for (const entry of list.split(' ').filter(Boolean)) {
    let i = 0;
    while (i < entry.length && symbols.includes(entry[i])) i++;
    const nick = entry.slice(i).split('!')[0];
    if (nick) users.push({ nick, prefixes: entry.slice(0, i) }); // a bare prefix symbol names nobody
  }
  return users;
}

/** PRIVMSG or NOTICE: a message (an ACTION is one), or another CTCP. */
function readChat(msg: IfMessage, from: Sender, time: Date, c: ReadContext): InboundEvent {
  const target = msg.params[0] ?? '';
  const raw = msg.params[1] ?? '';
  const msgid = typeof msg.tags.msgid === 'string' ? msg.tags.msgid : undefined;
  const self = c.isSelf(from.nick);
  const echo = msgid !== undefined && self ? { echo: { command: msg.command, target, text: raw, msgid } } : {};
  let kind: MessageKind = msg.command === 'NOTICE' ? 'notice' : 'privmsg';
  let text = raw;
  if (raw.startsWith('\x01')) {
    // Accept a missing closing \x01 (some clients omit it).
    const body = raw.slice(1).replace(/\x01$/, '');
    const sp = body.indexOf(' ');
    const command = (sp === -1 ? body : body.slice(0, sp)).toUpperCase();
    const args = sp === -1 ? '' : body.slice(sp + 1);
    if (command !== 'ACTION' || kind !== 'privmsg') return { type: 'ctcp', ctcp: { from, target, command, args, time }, ...echo };
    kind = 'action';
    text = args;
  }
  return {
    type: 'message',
    message: {
      kind,
      from,
      target,
      isChannel: c.isChannel(target),
      text,
      time,
      msgid,
      account: typeof msg.tags.account === 'string' ? msg.tags.account : undefined,
      isEcho: self,
      tags: msg.tags,
    },
    ...echo,
  };
}

function parseServerTime(tags: Record<string, string | true>): Date {
  const t = tags.time;
  if (typeof t === 'string') {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return new Date();
}
