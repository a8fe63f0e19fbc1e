// One Slack event → the core's remote events (`ctx.remote`): messages (text, emotes, bot posts as
// notices, each file as media), edits, deletions, reactions, joins and leaves, topic and name
// changes, profile changes. The bridge's own activity (echoes) is dropped here, and events for
// channels that are not linked go nowhere. Remote IDs are `(team, channel, ts)` (slack/message-id),
// so the core's transaction IDs make a second application of one event a no-op.
import type { RemoteEvent, RemoteSender } from '@causeway/bridge-core';
import {
  emojiToUnicode,
  parseSlackPayload,
  type SlackEvent,
  type SlackMessageEdit,
  type SlackNewMessage,
  type SlackReaction,
} from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';
import { slackTextToContent, slackTopicToMatrix } from './text';
import { slackFileToContent } from './files';
import { isPuppetEcho } from '../puppets/puppet-events';
import { isDirectMessage } from '../puppets/direct-messages';
import { observeEventToMatrix } from '../metrics/metered-client';

const tsMs = (ts: string | undefined): number | undefined => (ts ? Math.round(Number(ts) * 1000) : undefined);

export class SlackToMatrix {
  constructor(private readonly ws: WorkspaceContext) {}

  /** Applies one Events API payload (as Bolt hands it over). */
  async handle(body: unknown): Promise<void> {
    const payload = parseSlackPayload(body);
    if (payload.type !== 'event_callback') return;
    const ev = payload.event;
    if (ev.kind === 'ignored') {
      this.ws.ctx.log.debug('Slack event ignored', { reason: ev.reason });
      return;
    }
    const out = await this.translate(ev);
    for (const re of out) await this.ws.ctx.remote.emit(re);
    if (out.length) observeEventToMatrix(this.ws, body);
  }

  /**
   * What the bridge's own message, edit or reaction (its echo, dropped by `handle`) shows on Matrix,
   * for the channel's other linked rooms (to-matrix/mirror). A relayed post is a Matrix user's
   * message, so it is text, not the notice another app's post is.
   */
  shown(ev: SlackNewMessage | SlackMessageEdit | SlackReaction): Promise<RemoteEvent[]> {
    if (ev.kind === 'message') return this.message(ev, true);
    return ev.kind === 'message_changed' ? this.edit(ev) : this.reaction(ev);
  }

  private async linked(channel: string): Promise<boolean> {
    return (await this.ws.ctx.portals.getByKey(this.ws.portalKey(channel))).length > 0;
  }

  private async sender(userId: string): Promise<RemoteSender> {
    const p = await this.ws.users.get(userId);
    return { ghost: this.ws.ghostKey(userId), displayName: p.displayName, ...(p.avatarUrl ? { avatarUrl: p.avatarUrl } : {}) };
  }

  private async translate(ev: Exclude<SlackEvent, { kind: 'ignored' }>): Promise<RemoteEvent[]> {
    const ws = this.ws;
    if (await isPuppetEcho(ws, ev)) return [];
    switch (ev.kind) {
      case 'user_change':
      case 'team_join': {
        const p = ws.users.set(ev.user);
        if (ws.echoes.isSelfUser(ev.user.id)) return [];
        await ws.ctx.remote.updateProfile({
          ghost: ws.ghostKey(ev.user.id),
          displayName: p.displayName,
          ...(p.avatarUrl ? { avatarUrl: p.avatarUrl } : {}),
        });
        return [];
      }
      case 'message':
        if (ws.echoes.isSelf(ev.author) || ws.echoes.wasPosted(ev.channel, ev.ts)) return [];
        // Puppets' DMs: to each puppeted member's DM room (puppets/direct-messages).
        if (isDirectMessage(ev)) return ws.dms.route(ev, await this.message(ev));
        if (!(await this.linked(ev.channel))) return [];
        return this.message(ev);
      case 'message_changed':
        if (ws.echoes.isSelf(ev.author) || !(await this.linked(ev.channel))) return [];
        return this.edit(ev);
      case 'message_deleted': {
        if (ws.echoes.takeDeleted(ev.channel, ev.deletedTs) || !(await this.linked(ev.channel))) return [];
        const by = ev.author?.userId && !ws.echoes.isSelf(ev.author) ? await this.sender(ev.author.userId) : { bot: true as const };
        return [
          {
            type: 'delete',
            portal: ws.portalKey(ev.channel),
            sender: by,
            targetId: ws.messageId(ev.channel, ev.deletedTs),
            timestamp: tsMs(ev.eventTs),
          },
        ];
      }
      case 'reaction':
        if (ws.echoes.isSelfUser(ev.userId) || !(await this.linked(ev.channel))) return [];
        return this.reaction(ev);
      case 'membership':
        // Slack reports a join twice (the event and a channel_join message): the event is enough.
        if (ev.source !== 'event' || ws.echoes.isSelfUser(ev.userId) || !(await this.linked(ev.channel))) return [];
        return [{ type: 'membership', portal: ws.portalKey(ev.channel), sender: await this.sender(ev.userId), membership: ev.membership }];
      case 'topic':
      case 'purpose':
        // A topic the bridge set from Matrix comes back, as the bot or as a puppet: not applied again.
        if (ev.kind === 'topic' && ws.echoes.takeChange(ev.channel, 'topic', ev.value)) return [];
        if (ws.echoes.isSelfUser(ev.userId) || !(await this.linked(ev.channel))) return [];
        return [
          {
            type: 'meta',
            portal: ws.portalKey(ev.channel),
            // The bot sets room state: in a linked room it is more likely to have the power than a ghost.
            sender: { bot: true },
            topic: await slackTopicToMatrix(ws, ev.value),
            timestamp: tsMs(ev.ts),
          },
        ];
      case 'channel_renamed':
        if (ev.source !== 'event' || ws.echoes.takeChange(ev.channel, 'name', ev.name)) return [];
        if (ws.echoes.isSelfUser(ev.userId) || !(await this.linked(ev.channel))) return [];
        return [{ type: 'meta', portal: ws.portalKey(ev.channel), sender: { bot: true }, name: ev.name }];
    }
  }

  private async authorOf(ev: SlackNewMessage | SlackMessageEdit): Promise<RemoteSender> {
    if (ev.author.userId) return this.sender(ev.author.userId);
    // Another app's post: a ghost of its bot, under the name it posted with.
    const id = ev.author.botId ?? ev.author.appId ?? 'bot';
    return {
      ghost: this.ws.ghostKey(id),
      displayName: ev.author.username ?? id,
      ...(ev.author.iconUrl ? { avatarUrl: ev.author.iconUrl } : {}),
    };
  }

  private async message(ev: SlackNewMessage, own = false): Promise<RemoteEvent[]> {
    const ws = this.ws;
    const sender = await this.authorOf(ev);
    const portal = ws.portalKey(ev.channel);
    const id = ws.messageId(ev.channel, ev.ts);
    const thread = ev.threadTs ? ws.messageId(ev.channel, ev.threadTs) : undefined;
    if (ev.threadTs) await ws.threads.set(ev.channel, ev.ts, ev.threadTs);
    // A broadcast reply is in the channel for everyone: on Matrix a reply in the main timeline.
    const relation = thread ? (ev.isBroadcast ? { replyTo: thread } : { threadRoot: thread }) : {};
    const kind = ev.isEmote ? 'emote' : ev.author.userId || own ? 'text' : 'notice';
    const out: RemoteEvent[] = [];
    const hasText = ev.text.trim() !== '' || !!ev.blocks?.length;
    if (hasText) {
      const content = await slackTextToContent(ws, ev, kind);
      if (content.body.trim() || content.html)
        out.push({ type: 'message', portal, sender, id, content, timestamp: tsMs(ev.ts), ...relation });
    }
    for (const [i, file] of ev.files.entries()) {
      const content = await slackFileToContent(ws, file);
      // The first Matrix event of a message carries its plain ID, so replies and reactions find it.
      out.push({
        type: 'message',
        portal,
        sender,
        id: out.length === 0 ? id : `${id}~f${i}`,
        content,
        timestamp: tsMs(ev.ts),
        ...relation,
      });
    }
    return out;
  }

  private async edit(ev: SlackMessageEdit): Promise<RemoteEvent[]> {
    const content = await slackTextToContent(this.ws, ev, ev.isEmote ? 'emote' : 'text');
    const targetId = this.ws.messageId(ev.channel, ev.targetTs);
    return [
      {
        type: 'edit',
        portal: this.ws.portalKey(ev.channel),
        sender: await this.authorOf(ev),
        targetId,
        id: `${targetId}~e${ev.eventTs}`,
        content,
        timestamp: tsMs(ev.eventTs),
      },
    ];
  }

  private async reaction(ev: SlackReaction): Promise<RemoteEvent[]> {
    const ws = this.ws;
    let key = emojiToUnicode(ev.name);
    if (key === undefined) {
      const custom = await ws.emoji.resolve(ev.name);
      key = custom ? ('mxc' in custom ? custom.mxc : custom.unicode) : `:${ev.name}:`;
    }
    const base = {
      portal: ws.portalKey(ev.channel),
      sender: await this.sender(ev.userId),
      targetId: ws.messageId(ev.channel, ev.targetTs),
      key,
      timestamp: tsMs(ev.eventTs),
    };
    return [ev.action === 'added' ? { type: 'reaction', ...base } : { type: 'reaction.remove', ...base }];
  }
}
