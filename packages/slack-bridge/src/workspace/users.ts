// Slack users as the bridge shows them on Matrix: name and avatar from `users.info`, cached, and
// replaced when Slack says the profile changed (`user_change`).
import type { WebClient } from '@slack/web-api';
import type { Logger } from '@causeway/bridge-core';
import type { SlackUserInfo } from '../slack';
import { parseSlackEvent } from '../slack';

export interface SlackProfile {
  id: string;
  displayName: string;
  avatarUrl?: string;
  isBot: boolean;
}

const TTL_MS = 60 * 60_000;

/** The name a Slack user is shown under: display name, else real name, else handle, else the ID. */
function profileOf(u: SlackUserInfo): SlackProfile {
  return {
    id: u.id,
    displayName: u.displayName || u.realName || u.name || u.id,
    ...(u.avatarUrl ? { avatarUrl: u.avatarUrl } : {}),
    isBot: u.isBot,
  };
}

export class SlackUsers {
  private readonly cache = new Map<string, { profile: SlackProfile; until: number }>();
  private readonly inflight = new Map<string, Promise<SlackProfile>>();

  constructor(
    private readonly client: WebClient,
    private readonly log: Logger,
  ) {}

  /** A user's profile; falls back to the bare ID when Slack cannot say (the message still crosses). */
  async get(userId: string): Promise<SlackProfile> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > Date.now()) return hit.profile;
    let p = this.inflight.get(userId);
    if (!p) {
      p = this.fetch(userId).finally(() => this.inflight.delete(userId));
      this.inflight.set(userId, p);
    }
    return p;
  }

  /** A profile Slack pushed (`user_change`, `team_join`). */
  set(info: SlackUserInfo): SlackProfile {
    const profile = profileOf(info);
    this.cache.set(info.id, { profile, until: Date.now() + TTL_MS });
    return profile;
  }

  private async fetch(userId: string): Promise<SlackProfile> {
    try {
      const r = await this.client.users.info({ user: userId });
      const parsed = parseSlackEvent({ type: 'user_change', user: r.user });
      if (parsed.kind === 'user_change') return this.set(parsed.user);
    } catch (err) {
      this.log.warn('users.info failed', { user: userId, err: String(err) });
    }
    return { id: userId, displayName: userId, isBot: false };
  }
}
