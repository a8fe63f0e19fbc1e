// The bot holds one reaction per emoji per Slack message, for every Matrix user who reacted with
// it: it is removed from Slack only when the last of them takes theirs back. Who holds which is
// kept in `ctx.data`, so a restart does not forget it.
import type { KeyValueRepository } from '@causeway/bridge-core';

const NAMESPACE = 'reactors';

export class Reactors {
  constructor(
    private readonly data: KeyValueRepository,
    private readonly workspace: string,
  ) {}

  private key(channel: string, ts: string, name: string): string {
    return `${this.workspace}\u0000${channel}\u0000${ts}\u0000${name}`;
  }

  /** Records a Matrix user's reaction; true when it is the first with this emoji (Slack needs reactions.add). */
  async add(channel: string, ts: string, name: string, userId: string): Promise<boolean> {
    const k = this.key(channel, ts, name);
    const users = (await this.data.get<string[]>(NAMESPACE, k)) ?? [];
    if (users.includes(userId)) return false;
    await this.data.put(NAMESPACE, k, [...users, userId]);
    return users.length === 0;
  }

  /** Forgets a Matrix user's reaction; true when nobody on Matrix holds the emoji any more (reactions.remove). */
  async remove(channel: string, ts: string, name: string, userId: string): Promise<boolean> {
    const k = this.key(channel, ts, name);
    const users = (await this.data.get<string[]>(NAMESPACE, k)) ?? [];
    const rest = users.filter((u) => u !== userId);
    if (rest.length) await this.data.put(NAMESPACE, k, rest);
    else await this.data.delete(NAMESPACE, k);
    return rest.length === 0;
  }
}
