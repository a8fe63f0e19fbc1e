// A puppet's calls come back from Slack as that user's own activity (no bot_id to recognise), and
// a post's event may arrive before its chat.postMessage answers. So: posts in flight are tracked
// per (channel, Slack user) and a message event of that user waits for them before the `ts` check
// (EchoFilter.wasPosted); edits and reactions are recorded before the call and consumed by the
// event they cause. Deletions use the EchoFilter's own record (made before every chat.delete).
const MAX_REMEMBERED = 10_000;

export class PuppetEchoes {
  private readonly inflight = new Map<string, Set<Promise<unknown>>>();
  private readonly expected = new Map<string, number>();

  /** Tracks a post (or upload) by `slackUserId` in `channel` until it settles. */
  track<T>(channel: string, slackUserId: string, p: Promise<T>): Promise<T> {
    const key = `${channel}\u0000${slackUserId}`;
    let set = this.inflight.get(key);
    if (!set) this.inflight.set(key, (set = new Set()));
    const s = set;
    s.add(p);
    const done = () => {
      s.delete(p);
      if (s.size === 0 && this.inflight.get(key) === s) this.inflight.delete(key);
    };
    p.then(done, done);
    return p;
  }

  /** Resolves once no post of this user in this channel is in flight. */
  async settled(channel: string, slackUserId: string): Promise<void> {
    const set = this.inflight.get(`${channel}\u0000${slackUserId}`);
    if (set?.size) await Promise.allSettled([...set]);
  }

  /** An edit or reaction the bridge is about to make as a puppet. */
  expect(key: string): void {
    this.expected.set(key, (this.expected.get(key) ?? 0) + 1);
    if (this.expected.size > MAX_REMEMBERED) this.expected.delete(this.expected.keys().next().value as string);
  }

  /** Whether an event is one the bridge caused (consumed). */
  take(key: string): boolean {
    const n = this.expected.get(key);
    if (!n) return false;
    if (n === 1) this.expected.delete(key);
    else this.expected.set(key, n - 1);
    return true;
  }

  /** Undo `expect` for a call that failed. */
  cancel(key: string): void {
    this.take(key);
  }
}

export const editKey = (channel: string, ts: string) => `e\u0000${channel}\u0000${ts}`;
export const reactionKey = (channel: string, ts: string, name: string, added: boolean) =>
  `r\u0000${channel}\u0000${ts}\u0000${name}\u0000${added ? '+' : '-'}`;
