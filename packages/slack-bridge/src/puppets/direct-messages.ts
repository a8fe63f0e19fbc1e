// DMs and group DMs of puppeted users. The bot is in none of them: their messages arrive as user
// events (`message.im`, `message.mpim`) authorized by a puppet, and only a puppet's token can write
// there. Each message goes to the DM portal of every puppeted member other than its author, which
// the core creates on the first one (`dmWith`: a room the author's ghost opens with `is_direct`,
// inviting the Matrix user). In a group DM the ghost that opened the room invites each further
// Slack member when they first speak (the bot, not being there, cannot). A puppet's own activity
// in their DMs is not sent back to them.
//
// The other way, a Matrix user inviting a Slack user's ghost to a direct chat opens a Slack DM with
// `conversations.open` on their own token (the connector's `openDirectChat`).
import {
  BridgeError,
  type BridgeContext,
  type GhostKey,
  type PortalInfo,
  type PortalKey,
  type RemoteEvent,
  type RemoteMessage,
} from '@causeway/bridge-core';
import type { SlackNewMessage } from '../slack';
import type { SlackConfig } from '../config-schema';
import { slackErrorCode, type Puppets } from './puppets';

const MEMBERS_TTL_MS = 10 * 60_000;
const OPENERS_NS = 'dm-openers';
const INVITED_NS = 'dm-invited';

/** Whether a Slack message is in a DM or a group DM. */
export function isDirectMessage(ev: Pick<SlackNewMessage, 'channel' | 'channelType'>): boolean {
  return ev.channelType === 'im' || ev.channelType === 'mpim' || (!ev.channelType && ev.channel.startsWith('D'));
}

/** What DMs need of their workspace. */
export interface DmHost {
  readonly name: string;
  readonly ctx: BridgeContext<SlackConfig>;
  readonly puppets: Puppets;
  portalKey(channel: string): PortalKey;
  ghostKey(userId: string): GhostKey;
}

export class DirectMessages {
  private readonly members = new Map<string, { ids: string[]; until: number }>();

  constructor(private readonly ws: DmHost) {}

  /**
   * The remote events of a DM message (built by the relay's translation), addressed to each
   * puppeted member but the author; [] when no puppeted member is left to tell.
   */
  async route(ev: SlackNewMessage, built: RemoteEvent[]): Promise<RemoteEvent[]> {
    const ws = this.ws;
    const author = ev.author.userId;
    const members = await this.membersOf(ev.channel);
    const recipients = members
      .filter((u) => u !== author)
      .flatMap((u) => ws.puppets.matrixUserOf(u) ?? [])
      .filter((m) => ws.ctx.mayUseBridge(m));
    if (!recipients.length || !author) return [];
    const out: RemoteEvent[] = [];
    for (const matrixUserId of recipients) {
      const opener = await this.openerFor(ev.channel, matrixUserId, author);
      if (opener !== author && !(await this.wasInvited(ev.channel, matrixUserId, author))) {
        out.push({
          type: 'membership',
          portal: ws.portalKey(ev.channel),
          sender: { ghost: ws.ghostKey(opener) },
          target: ws.ghostKey(author),
          membership: 'invite',
          dmWith: matrixUserId,
        });
      }
      for (const e of built) if (e.type === 'message') out.push({ ...e, dmWith: matrixUserId } satisfies RemoteMessage);
    }
    return out;
  }

  /** Slack members of a DM, asked with the token of a puppet who can see it (cached). */
  private async membersOf(channel: string): Promise<string[]> {
    const hit = this.members.get(channel);
    if (hit && hit.until > Date.now()) return hit.ids;
    for (const p of this.ws.puppets.all()) {
      try {
        const r = await p.client.conversations.members({ channel, limit: 100 });
        const ids = r.members ?? [];
        this.members.set(channel, { ids, until: Date.now() + MEMBERS_TTL_MS });
        return ids;
      } catch (err) {
        const code = slackErrorCode(err);
        if (code !== 'channel_not_found' && code !== 'not_in_channel')
          this.ws.ctx.log.debug('conversations.members failed for a DM', { channel, err: code ?? String(err) });
      }
    }
    return [];
  }

  /** The Slack user whose ghost opened this Matrix user's room for the DM (the first to speak). */
  private async openerFor(channel: string, matrixUserId: string, author: string): Promise<string> {
    const key = `${this.ws.name}\u0000${channel}\u0000${matrixUserId}`;
    const known = await this.ws.ctx.data.get<string>(OPENERS_NS, key);
    const open = (await this.ws.ctx.portals.getByKey(this.ws.portalKey(channel))).some((p) => p.kind === 'dm' && p.dmUser === matrixUserId);
    if (known && open) return known;
    // A new room (the first, or one reopened after the user left): nobody has been invited into it yet.
    for (const { key: k } of await this.ws.ctx.data.list(INVITED_NS, { prefix: `${key}\u0000` }))
      await this.ws.ctx.data.delete(INVITED_NS, k);
    await this.ws.ctx.data.put(OPENERS_NS, key, author);
    await this.ws.ctx.data.put(INVITED_NS, `${key}\u0000${author}`, true);
    return author;
  }

  private async wasInvited(channel: string, matrixUserId: string, author: string): Promise<boolean> {
    const key = `${this.ws.name}\u0000${channel}\u0000${matrixUserId}\u0000${author}`;
    if (await this.ws.ctx.data.get(INVITED_NS, key)) return true;
    await this.ws.ctx.data.put(INVITED_NS, key, true);
    return false;
  }

  /** A Matrix user invited a Slack user's ghost to a direct chat: open the Slack DM as them. */
  async open(matrixUserId: string, ghost: GhostKey): Promise<PortalInfo> {
    const ws = this.ws;
    const puppet = ws.puppets.of(matrixUserId);
    if (!puppet)
      throw new BridgeError(
        `To message Slack users directly, log in to ${ws.name} first: send "login ${ws.name}" to the bridge bot. Only your own Slack account can open a DM.`,
      );
    if (!/^[UW][A-Z0-9]+$/.test(ghost.id)) throw new BridgeError('That is not a Slack user you can message directly.');
    if (ghost.id === puppet.slackUserId) throw new BridgeError('That is your own Slack account.');
    let channel: string | undefined;
    try {
      channel = (await puppet.client.conversations.open({ users: ghost.id })).channel?.id;
    } catch (err) {
      const code = slackErrorCode(err);
      if (code && ['invalid_auth', 'token_revoked', 'account_inactive'].includes(code)) {
        await ws.puppets.tokenDead(matrixUserId, `Slack answered ${code}`);
        throw new BridgeError('Slack no longer accepts your login; log in again to open DMs.');
      }
      throw new BridgeError(`Slack would not open the DM (${code ?? 'error'}).`);
    }
    if (!channel) throw new BridgeError('Slack did not name the DM it opened.');
    // The ghost is this room's opener: further members of a group DM are invited by it.
    const key = `${ws.name}\u0000${channel}\u0000${matrixUserId}`;
    await ws.ctx.data.put(OPENERS_NS, key, ghost.id);
    await ws.ctx.data.put(INVITED_NS, `${key}\u0000${ghost.id}`, true);
    return { key: ws.portalKey(channel) };
  }
}
