/**
 * Which of our connections relays a channel line to Matrix.
 *
 * Every one of our connections in a channel receives each line said there (in
 * deaf mode, two of them: see IrcNetwork.updateDeafness). Exactly one copy must
 * reach Matrix. With IRCv3 msgids the first copy to arrive claims the line and
 * the others are dropped: there is no hand-over moment to lose lines in when the
 * relaying connection leaves (a kick of the bot, a user quitting), because the
 * others were hearing all along. The order of lines is kept: each socket
 * delivers in the server's order, so the first arrivals are in that order too.
 * Without msgids (a server without message-tags) the channel's listener relays
 * (ChannelTable.listener), and the lines crossing a hand-over can be lost.
 */
import type { ChannelTable } from './channel-state';

/** Claims kept: copies of one line arrive within milliseconds of each other. */
const REMEMBERED = 8192;

export class ChatRelay {
  private readonly claims = new Map<string, string>();
  private readonly order: string[] = new Array(REMEMBERED);
  private next = 0;

  constructor(private readonly channels: ChannelTable) {}

  /** Whether `connKey`'s copy of a line to `channel` (with its `msgid` tag, if any) is the one to relay. */
  relays(connKey: string, channel: string, msgid: string | undefined): boolean {
    if (!msgid) return this.channels.listener(channel) === connKey;
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
