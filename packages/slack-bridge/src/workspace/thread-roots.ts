// Which thread a Slack message is in, for the messages the bridge has seen or sent: Slack threads
// are one level deep and `thread_ts` must name the root, so a Matrix reply to a reply goes to the
// root's thread. Bounded and in memory: an unknown message is taken to be a root.
const MAX = 20_000;

export class ThreadRoots {
  private readonly roots = new Map<string, string>();

  set(channel: string, ts: string, rootTs: string): void {
    if (ts === rootTs) return;
    this.roots.set(`${channel}\u0000${ts}`, rootTs);
    if (this.roots.size > MAX) this.roots.delete(this.roots.keys().next().value as string);
  }

  rootOf(channel: string, ts: string): string | undefined {
    return this.roots.get(`${channel}\u0000${ts}`);
  }
}
