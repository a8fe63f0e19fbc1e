/**
 * Reads just enough of a raw IRC line to tell whether it is channel chat (PRIVMSG
 * or NOTICE to a channel) and who sent it, without parsing the whole line.
 *
 * Why: each of the bridge's connections in a channel receives every line said
 * there, but only one of them relays it. With 20 Matrix users in a channel the
 * other 20 copies used to go through irc-framework's full parse, tag decoding
 * and event dispatch only to be dropped, which was most of the bridge's CPU at
 * 1,000 msg/s. Peeking lets a connection drop them first.
 */
import { unescapeTagValue } from './message-tags';

export interface ChannelChat {
  /** The prefix's nick (or server name for a server-sourced line). */
  nick: string;
  channel: string;
  /** The IRCv3 `msgid` tag, unescaped, when the line has one. */
  msgid?: string;
}

/** Channel chat's sender and channel; undefined for any other line (numerics, PMs, JOIN, …). */
export function peekChannelChat(line: string, chanTypes: string): ChannelChat | undefined {
  let i = 0;
  let tagsEnd = 0;
  if (line.charCodeAt(0) === 64 /* @ tags */) {
    tagsEnd = line.indexOf(' ');
    i = tagsEnd + 1;
    if (i === 0) return undefined;
    while (line.charCodeAt(i) === 32) i++;
  }
  if (line.charCodeAt(i) !== 58 /* : prefix */) return undefined; // no prefix: not from a user
  const prefixEnd = line.indexOf(' ', i);
  if (prefixEnd < 0) return undefined;
  const bang = line.indexOf('!', i);
  const nick = line.slice(i + 1, bang > 0 && bang < prefixEnd ? bang : prefixEnd);
  let j = prefixEnd + 1;
  while (line.charCodeAt(j) === 32) j++;
  const commandEnd = line.indexOf(' ', j);
  if (commandEnd < 0) return undefined;
  const command = line.slice(j, commandEnd).toUpperCase();
  if (command !== 'PRIVMSG' && command !== 'NOTICE') return undefined;
  let k = commandEnd + 1;
  while (line.charCodeAt(k) === 32) k++;
  const targetEnd = line.indexOf(' ', k);
  const target = targetEnd < 0 ? line.slice(k) : line.slice(k, targetEnd);
  // STATUSMSG targets (@#chan, +#chan) start with a prefix symbol, not a channel type: kept.
  if (target.length < 2 || !chanTypes.includes(target[0])) return undefined;
  const msgid = tagsEnd > 0 ? tagValue(line, tagsEnd, 'msgid') : undefined;
  return msgid === undefined ? { nick, channel: target } : { nick, channel: target, msgid };
}

/** The value of tag `key` in the tag section `line[1, end)`; undefined when absent or valueless. */
function tagValue(line: string, end: number, key: string): string | undefined {
  let start = 1;
  while (start < end) {
    let stop = line.indexOf(';', start);
    if (stop < 0 || stop > end) stop = end;
    if (line.startsWith(key, start) && line.charCodeAt(start + key.length) === 61 /* = */ && start + key.length < stop) {
      const v = line.slice(start + key.length + 1, stop);
      return v ? unescapeTagValue(v) : undefined;
    }
    start = stop + 1;
  }
  return undefined;
}
