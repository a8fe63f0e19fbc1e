/**
 * Which of our connections relays a channel line to Matrix.
 *
 * Every one of our connections in a channel receives each line said there.
 * Exactly one copy must reach Matrix: the channel's listener's
 * (ChannelTable.listener: the bot, else the earliest-joined user).
 *
 * In deaf mode only two connections hear a channel (IrcNetwork.updateDeafness),
 * and between those two, with IRCv3 msgids, the first copy to arrive claims the
 * line and the other is dropped: when the listener leaves (a kick of the bot, a
 * user quitting) the other was hearing all along, so nothing said in the round
 * trip a MODE takes is lost. The order of lines is kept: each socket delivers in
 * the server's order, so the first arrivals are in that order too.
 *
 * With deaf mode off every connection hears, so a new listener was hearing
 * already and only a line crossing the hand-over on another socket (well under
 * a millisecond) can be lost; the listener relays there, as without msgids, and
 * the hot path stays as it was measured (bench/irc.ts runs on the shared test
 * machines were too noisy to show what claiming would cost there).
 */
import type { ChannelTable } from './channel-state';

/** Claims kept: copies of one line arrive within milliseconds of each other. */
const REMEMBERED = 8192;

export class ChatRelay {
  private readonly claims = new Map<string, string>();
  private readonly order: string[] = new Array<string>(REMEMBERED);
  private next = 0;

  /** `claim()`: whether deaf mode is on (two hearers per channel). */
  constructor(
    private readonly channels: ChannelTable,
    private readonly claim: () => boolean,
  ) {}

  /** Whether `connKey`'s copy of a line to `channel` (with its `msgid` tag, if any) is the one to relay. */
  relays(connKey: string, channel: string, msgid: string | undefined): boolean {
    const listener = this.channels.listener(channel);
    if (!msgid || !this.claim()) return listener === connKey;
    // Only the two hearers claim (a third connection's copy can only be one that was in flight
    // when it became deaf).
    if (connKey !== listener && connKey !== this.channels.standby(channel, listener)) return false;
    // Per channel: a line to several targets (PRIVMSG #a,#b) may carry one msgid in each.
    const key = msgid + ' ' + channel;
    const owner = this.claims.get(key);
    if (owner !== undefined) return owner === connKey;
    const evicted = this.order[this.next];
    if (evicted !== undefined) this.claims.delete(evicted);
    this.order[this.next] = key;
    this.next = (this.next + 1) % REMEMBERED;
    this.claims.set(key, connKey);
    return true;
  }
}
