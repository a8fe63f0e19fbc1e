// The bridge hears everything it posts (Slack sends the app's own messages, edits, reactions and
// joins back as events, sometimes before the Web API call has answered). They are recognised by
// the bot and app IDs a post carries and by the bot user, and, for what carries neither reliably,
// by the `ts` values the Web API returned (posts) or was given (deletions), and topic and name
// changes by their channel and value.
import { unescapeMrkdwn, type SlackAuthor } from '../slack';
import type { SlackIdentity } from '../workspace/identity';

const MAX_REMEMBERED = 10_000;
/** How long a topic or name change the bridge made is waited for as an echo. */
const CHANGE_ECHO_MS = 60_000;

export class EchoFilter {
  private readonly posted = new Set<string>();
  private readonly deleted = new Set<string>();
  /** Topic and name changes the bridge asked for, until Slack reports them (or a minute passes). */
  private readonly changes = new Map<string, number>();

  constructor(private readonly me: () => SlackIdentity) {}

  /** Whether an author is this bridge's bot (its posts, reactions, joins). */
  isSelf(author: SlackAuthor | undefined): boolean {
    if (!author) return false;
    const me = this.me();
    return (
      (!!author.botId && author.botId === me.botId) ||
      (!!author.appId && author.appId === me.appId) ||
      (!!author.userId && author.userId === me.botUserId)
    );
  }

  isSelfUser(userId: string | undefined): boolean {
    return !!userId && userId === this.me().botUserId;
  }

  recordPosted(channel: string, ts: string): void {
    remember(this.posted, `${channel}\u0000${ts}`);
  }

  wasPosted(channel: string, ts: string): boolean {
    return this.posted.has(`${channel}\u0000${ts}`);
  }

  recordDeleted(channel: string, ts: string): void {
    remember(this.deleted, `${channel}\u0000${ts}`);
  }

  /** The bridge is about to set a channel's topic or name (with the bot's or a puppet's token). */
  expectChange(channel: string, field: 'topic' | 'name', value: string): void {
    const now = Date.now();
    for (const [k, until] of this.changes) if (until < now) this.changes.delete(k);
    this.changes.set(`${channel}\u0000${field}\u0000${value}`, now + CHANGE_ECHO_MS);
  }

  cancelChange(channel: string, field: 'topic' | 'name', value: string): void {
    this.changes.delete(`${channel}\u0000${field}\u0000${value}`);
  }

  /**
   * Whether Slack reports a change the bridge made (consumed: it is reported once). The value is
   * also compared without Slack's `&amp;`/`&lt;`/`&gt;` escaping, in case Slack escaped the text.
   */
  takeChange(channel: string, field: 'topic' | 'name', value: string): boolean {
    const now = Date.now();
    for (const v of new Set([value, unescapeMrkdwn(value)])) {
      const key = `${channel}\u0000${field}\u0000${v}`;
      const until = this.changes.get(key);
      if (until === undefined) continue;
      this.changes.delete(key);
      if (until >= now) return true;
    }
    return false;
  }

  /** A deletion the bridge made itself (consumed: Slack reports it once). */
  takeDeleted(channel: string, ts: string): boolean {
    return this.deleted.delete(`${channel}\u0000${ts}`);
  }
}

function remember(set: Set<string>, key: string): void {
  set.add(key);
  if (set.size > MAX_REMEMBERED) set.delete(set.values().next().value as string);
}
