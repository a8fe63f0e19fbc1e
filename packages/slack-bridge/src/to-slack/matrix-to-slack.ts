// Matrix activity in a linked room → Slack calls, in relay mode: everything goes out as the bot,
// a message under the sender's display name and avatar (`chat:write.customize`). Messages (text,
// emotes as italics, notices, media by external upload), replies and threads (`thread_ts`; a
// Matrix reply outside a thread is also broadcast to the channel, where Matrix users saw it),
// edits (`chat.update`), redactions (`chat.delete`, the bridge's own posts only: a bot cannot delete
// other people's messages) and reactions (Unicode → shortcode, one bot reaction per emoji for
// every Matrix user who chose it).
import {
  BridgeError,
  type MatrixEdit,
  type MatrixMessage,
  type MessageContent,
  type MatrixReaction,
  type MatrixReactionRemoval,
  type MatrixRedaction,
  type MatrixRoomMeta,
  type RemoteMessageRef,
  type SendResult,
} from '@causeway/bridge-core';
import { parseSlackMessageId, unicodeToEmoji } from '../slack';
import { matrixToSlack } from './matrix-to-mrkdwn';
import type { WorkspaceContext } from '../workspace/workspace-context';
import { mentionResolvers } from './mentions';
import { Reactors } from './reactors';
import type { SlackSender } from './slack-sender';
import { MATRIX_EVENT_METADATA, type SlackCall } from './slack-call';
import { callerFields } from '../puppets/puppet-send';
import { roomMetaToSlack } from './room-meta';

/** Slack's own limit on `text` is 40,000 characters; longer text is cut with a marker. */
const MAX_TEXT = 39_000;

/** The Slack ts a message-map entry points at (file parts carry a `~f<n>` suffix). */
function slackTsOf(ws: WorkspaceContext, ref: Pick<RemoteMessageRef, 'remoteId'>): { channel: string; ts: string } | undefined {
  const key = parseSlackMessageId(ref.remoteId.replace(/~[a-z]\S*$/, ''));
  return key && key.team === ws.identity.teamId ? { channel: key.channel, ts: key.ts } : undefined;
}

export class MatrixToSlack {
  private readonly reactors: Reactors;

  constructor(
    private readonly ws: WorkspaceContext,
    private readonly sender: SlackSender,
  ) {
    this.reactors = new Reactors(ws.ctx.data, ws.name);
  }

  async message(msg: MatrixMessage): Promise<SendResult> {
    const ws = this.ws;
    const channel = msg.portal.key.id;
    const identity = await this.identity(msg);
    const thread = await this.threadOf(msg);
    // What the message map needs if the IDs come after a restart (the whole event would bloat the store).
    const late = {
      eventId: msg.eventId,
      timestamp: msg.timestamp,
      portal: { roomId: msg.portal.roomId, key: msg.portal.key },
      sender: { userId: msg.sender.userId },
      content: { body: msg.content.body },
    };
    const base = {
      eventId: msg.eventId,
      roomId: msg.portal.roomId,
      late,
      ...(msg.redelivered ? { mayExist: true } : {}),
      ...callerFields(ws, msg.sender.userId, msg.portal),
    };
    let call: SlackCall;
    const media = msg.content.media;
    if (media?.mxc) {
      const comment = msg.content.body && msg.content.body !== media.name ? msg.content.body : undefined;
      call = {
        method: 'files.upload-external',
        args: {
          channel,
          mxc: media.mxc,
          name: media.name,
          ...(media.mimetype ? { mimetype: media.mimetype } : {}),
          ...(thread.thread_ts ? { thread_ts: thread.thread_ts } : {}),
          ...(comment ? { comment } : {}),
        },
      };
    } else {
      call = {
        method: 'chat.postMessage',
        args: {
          channel,
          text: await this.text(msg.content),
          ...identity,
          ...thread,
          unfurl_links: false,
          unfurl_media: false,
          metadata: JSON.stringify({ event_type: MATRIX_EVENT_METADATA, event_payload: { event_id: msg.eventId } }),
        },
      };
    }
    const r = await this.sender.call(channel, { ...base, call });
    if (r.ts && thread.thread_ts) await ws.threads.set(channel, r.ts, thread.thread_ts);
    return { remoteIds: r.ts ? [ws.messageId(channel, r.ts)] : [] };
  }

  async edit(edit: MatrixEdit): Promise<void> {
    const target = slackTsOf(this.ws, edit.target);
    if (!target) return;
    const text = await this.text(edit.content);
    await this.sender.call(target.channel, {
      eventId: edit.eventId,
      roomId: edit.portal.roomId,
      ...callerFields(this.ws, edit.sender.userId, edit.portal),
      call: { method: 'chat.update', args: { channel: target.channel, ts: target.ts, text } },
    });
  }

  async redaction(r: MatrixRedaction): Promise<void> {
    // A Slack user's message (its Matrix sender is a ghost) cannot be deleted by the bot.
    if (this.ws.ctx.ghosts.isBridgeUser(r.target.sender)) {
      throw new BridgeError('The message was removed here, but Slack does not let the bridge delete messages of Slack users.', {
        notify: 'admin-room',
      });
    }
    for (const remoteId of r.target.remoteIds ?? [r.target.remoteId]) {
      const t = slackTsOf(this.ws, { remoteId });
      if (t)
        await this.sender.call(t.channel, {
          eventId: r.eventId,
          roomId: r.portal.roomId,
          ...callerFields(this.ws, r.sender.userId, r.portal),
          call: { method: 'chat.delete', args: { channel: t.channel, ts: t.ts } },
        });
    }
  }

  async reaction(r: MatrixReaction | MatrixReactionRemoval, remove = false): Promise<void> {
    const t = slackTsOf(this.ws, r.target);
    const name = unicodeToEmoji(r.key) ?? /^:([a-z0-9_+'-]+):$/.exec(r.key)?.[1];
    if (!t || !name) return; // a reaction Slack has no emoji for (text, an image) does not cross
    // A puppet reacts as themselves; only relayed users share the bot's one reaction per emoji.
    const caller = callerFields(this.ws, r.sender.userId, r.portal);
    if (!caller.puppet) {
      const reactors = this.reactors;
      const change = remove
        ? await reactors.remove(t.channel, t.ts, name, r.sender.userId)
        : await reactors.add(t.channel, t.ts, name, r.sender.userId);
      // Another Matrix user's identical reaction is the bot's one reaction on Slack. A replayed add is
      // sent again (Slack answers already_reacted if it got there): it may not have gone out.
      if (!change && (remove || !r.redelivered)) return;
    }
    await this.sender.call(t.channel, {
      eventId: r.eventId,
      roomId: r.portal.roomId,
      ...caller,
      call: { method: remove ? 'reactions.remove' : 'reactions.add', args: { channel: t.channel, timestamp: t.ts, name } },
    });
  }

  /** A topic or room name change (to-slack/room-meta). */
  roomMeta(change: MatrixRoomMeta): Promise<void> {
    return roomMetaToSlack(this.ws, this.sender, change);
  }

  private async text(content: MessageContent): Promise<string> {
    const resolvers = await mentionResolvers(this.ws, content);
    let text = matrixToSlack(
      { body: content.body, ...(content.html ? { html: content.html } : {}) },
      {
        ...resolvers,
        roomMention: content.mentionsRoom ? 'channel' : false,
      },
    );
    if (content.kind === 'emote') text = `_${text}_`;
    if (text.length > MAX_TEXT) text = `${text.slice(0, MAX_TEXT)}… (cut: too long for Slack)`;
    return text;
  }

  /** Where a message goes: a thread (Matrix thread, or a reply: Slack's only reply form) or the channel. */
  private async threadOf(msg: MatrixMessage): Promise<{ thread_ts?: string; reply_broadcast?: boolean }> {
    const channel = msg.portal.key.id;
    const ref = msg.threadRoot ?? msg.replyTo;
    const t = ref ? slackTsOf(this.ws, ref) : undefined;
    if (!t || t.channel !== channel) return {};
    const root = (await this.ws.threads.rootOf(channel, t.ts)) ?? t.ts;
    return msg.threadRoot ? { thread_ts: root } : { thread_ts: root, reply_broadcast: true };
  }

  /** The sender's name and avatar on Slack. */
  private async identity(msg: MatrixMessage): Promise<{ username: string; icon_url?: string }> {
    const username = this.ws.connectorConfig.relay.username_template
      .replace(/\$DISPLAYNAME/g, msg.sender.displayName)
      .replace(/\$USERID/g, msg.sender.userId)
      .slice(0, 80);
    let avatar: unknown;
    try {
      avatar = (await this.ws.ctx.portals.roomState(msg.portal.roomId, 'm.room.member', msg.sender.userId))?.avatar_url;
    } catch {
      avatar = undefined;
    }
    const icon = typeof avatar === 'string' && avatar.startsWith('mxc://') ? this.ws.ctx.media.publicUrl(avatar) : undefined;
    return { username, ...(icon ? { icon_url: icon } : {}) };
  }
}
