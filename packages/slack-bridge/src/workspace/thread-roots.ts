// Which thread a Slack message is in, for the messages the bridge has seen or sent: Slack threads
// are one level deep and `thread_ts` must name the root, so a Matrix reply to a reply goes to the
// root's thread. Kept in `ctx.data` (only thread replies: an unknown message is taken to be a
// root), so a reply after a restart still lands in the thread instead of being refused by Slack
// (`cannot_reply_to_message`); the most recent ones are also in memory.
import type { KeyValueRepository } from '@causeway/bridge-core';

const NAMESPACE = 'thread-roots';
const CACHED = 20_000;

export class ThreadRoots {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly data: KeyValueRepository,
    private readonly workspace: string,
  ) {}

  private key(channel: string, ts: string): string {
    return `${this.workspace}\u0000${channel}\u0000${ts}`;
  }

  private remember(key: string, rootTs: string): void {
    this.cache.delete(key);
    this.cache.set(key, rootTs);
    if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value as string);
  }

  async set(channel: string, ts: string, rootTs: string): Promise<void> {
    if (ts === rootTs) return;
    const key = this.key(channel, ts);
    if (this.cache.get(key) === rootTs) return;
    this.remember(key, rootTs);
    await this.data.put(NAMESPACE, key, rootTs);
  }

  async rootOf(channel: string, ts: string): Promise<string | undefined> {
    const key = this.key(channel, ts);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const stored = await this.data.get<string>(NAMESPACE, key);
    if (stored) this.remember(key, stored);
    return stored;
  }
}
