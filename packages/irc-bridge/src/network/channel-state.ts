/**
 * What the bridge knows about each IRC channel of one network: which of our
 * connections are in it (the first of them is the "listener" whose view is
 * relayed, so a line seen by ten bridged clients reaches Matrix once), who the
 * members are with their prefix modes (for power levels and QUIT/NICK fan-out),
 * and the channel modes that map to room settings. Keys use the network's
 * casemapping (rfc1459 on InspIRCd: `#Foo[]` and `#foo{}` are one channel).
 */
import { IrcCaseMap } from '../irc';

export const BOT_KEY = '\u0000bot';

export class ChannelState {
  /** nick → prefix mode letters held (e.g. "ov"). */
  members = new IrcCaseMap<string>();
  /** Connection keys (BOT_KEY or a Matrix user ID) currently joined, in join order. */
  readonly joinedBy = new Set<string>();
  /** Simple channel modes that map to room settings (i, k, m, s). */
  readonly modes = new Set<string>();
  /** Whether the NAMES snapshot after our first join has been processed. */
  synced = false;
  constructor(readonly name: string) {}
}

export class ChannelTable {
  private readonly channels = new IrcCaseMap<ChannelState>();

  get(channel: string): ChannelState | undefined {
    return this.channels.get(channel);
  }

  ensure(channel: string): ChannelState {
    let c = this.channels.get(channel);
    if (!c) {
      c = new ChannelState(channel);
      this.channels.set(channel, c);
    }
    return c;
  }

  all(): ChannelState[] {
    return [...this.channels].map(([, v]) => v);
  }

  /**
   * The connection whose events for this channel are relayed: the bot when it is in the
   * channel, else the earliest-joined Matrix user's connection.
   */
  listener(channel: string): string | undefined {
    const c = this.channels.get(channel);
    if (!c || c.joinedBy.size === 0) return undefined;
    if (c.joinedBy.has(BOT_KEY)) return BOT_KEY;
    return c.joinedBy.values().next().value;
  }

  /**
   * The connections that should hear the channel's chat in deaf mode: the listener and, when
   * there is one, a second that stands by, so a listener leaving loses nothing (ChatRelay).
   */
  hearers(channel: string): string[] {
    const first = this.listener(channel);
    if (first === undefined) return [];
    const second = this.standby(channel, first);
    return second === undefined ? [first] : [first, second];
  }

  /** The hearer besides `listener` (see hearers); no array, as this runs for each copy of each line. */
  standby(channel: string, listener: string | undefined): string | undefined {
    const c = this.channels.get(channel);
    if (!c || listener === undefined) return undefined;
    for (const k of c.joinedBy) if (k !== listener) return k;
    return undefined;
  }

  /** A connection went away: it is no longer in any channel. */
  dropConnection(connKey: string): void {
    for (const c of this.all()) {
      c.joinedBy.delete(connKey);
      if (c.joinedBy.size === 0) {
        c.synced = false;
        c.members = new IrcCaseMap<string>();
      }
    }
  }
}
