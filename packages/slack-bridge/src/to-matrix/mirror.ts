// A Slack channel may be linked to several Matrix rooms. A Matrix user's message in one of them
// reaches Slack, but the bridge drops Slack's echo of its own posts (to-matrix/echo-filter,
// puppets/puppet-echoes), so the other rooms would never see it. Instead, once Slack accepted a
// post, an edit, a deletion or a reaction made from Matrix, it is handed to the core's RoomMirror
// (which shows it in the portal's other rooms only, once), built here as Slack shows it: the post
// or edit as Slack answered it goes through the same translation as anyone's Slack message. So a
// relayed message comes from the ghost of the bridge's bot under the Matrix user's name and avatar
// (chat:write.customize), and a puppeted user's from their own Slack user's ghost. It keeps its
// Slack ts as remote ID, so each room's message map finds its copy for later edits, deletions,
// reactions and thread replies from either side. An upload (Slack answers it with a ts only) is
// shown with the Matrix file itself, from the ghost of the Slack user Slack shows as its uploader
// (the bot user, which uploads take no name override for, or the puppeted user).
import { RoomMirror, type RemoteEvent, type RemoteSender } from '@causeway/bridge-core';
import { parseSlackEvent } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';
import type { CallResult, StoredCall } from '../to-slack/slack-call';
import type { SlackToMatrix } from './slack-events';
import { mediaKindOf } from './files';

/** Senders of recent mirrored messages, for the ghost that redacts a copy (it may redact its own). */
const AUTHORS_KEPT = 10_000;

export class SlackMirror {
  private readonly mirror: RoomMirror;
  private readonly authors = new Map<string, RemoteSender>();

  constructor(
    private readonly ws: WorkspaceContext,
    private readonly toMatrix: SlackToMatrix,
  ) {
    this.mirror = new RoomMirror(ws.ctx, { thing: "a Matrix user's message", place: 'its Slack channel' });
  }

  /** A call Slack accepted (SlackSender's onDelivered); resolves once shown (never rejects). */
  async delivered(stored: StoredCall, result: CallResult): Promise<void> {
    const { roomId, call } = stored;
    if (!roomId) return;
    const channel = (call.args as { channel: string }).channel;
    await this.mirror.show({
      roomId,
      portal: this.ws.portalKey(channel),
      build: () => this.build(stored, channel, result),
      // A reaction has no remote id of its own: its Matrix event tells a replayed one (sent again).
      ...(call.method === 'reactions.add' || call.method === 'reactions.remove' ? { once: stored.eventId } : {}),
      logFields: { workspace: this.ws.name, channel, method: call.method },
    });
  }

  private async build(stored: StoredCall, channel: string, result: CallResult): Promise<RemoteEvent | undefined> {
    const { call } = stored;
    const envelope = { team_id: this.ws.identity.teamId };
    switch (call.method) {
      case 'chat.postMessage': {
        if (!result.message) return undefined;
        const ev = parseSlackEvent({ ...result.message, type: 'message', channel }, envelope);
        if (ev.kind !== 'message') return undefined;
        const [shown] = await this.toMatrix.shown(ev);
        if (shown?.type === 'message') this.rememberAuthor(shown.id, shown.sender);
        return shown;
      }
      case 'chat.update': {
        if (!result.message) return undefined;
        const edited = (result.message.edited as { ts?: unknown } | undefined)?.ts;
        const ev = parseSlackEvent(
          {
            type: 'message',
            subtype: 'message_changed',
            channel,
            ts: typeof edited === 'string' ? edited : call.args.ts,
            message: result.message,
          },
          envelope,
        );
        if (ev.kind !== 'message_changed') return undefined;
        const [shown] = await this.toMatrix.shown(ev);
        // Its id comes from the Matrix edit, so the same edit handed over again is the same operation.
        return shown?.type === 'edit' ? { ...shown, id: `${shown.targetId}~m${stored.eventId}` } : undefined;
      }
      case 'chat.delete': {
        const targetId = this.ws.messageId(channel, call.args.ts);
        return { type: 'delete', portal: this.ws.portalKey(channel), sender: this.authors.get(targetId) ?? { bot: true }, targetId };
      }
      case 'files.upload-external': {
        const userId = this.madeBy(stored, result);
        if (!result.ts || !userId) return undefined;
        const { args } = call;
        const profile = await this.ws.users.get(userId);
        const sender = {
          ghost: this.ws.ghostKey(userId),
          displayName: profile.displayName,
          ...(profile.avatarUrl ? { avatarUrl: profile.avatarUrl } : {}),
        };
        const id = this.ws.messageId(channel, result.ts);
        this.rememberAuthor(id, sender);
        return {
          type: 'message',
          portal: this.ws.portalKey(channel),
          sender,
          id,
          content: {
            kind: mediaKindOf(args.mimetype),
            body: args.comment ?? args.name,
            media: { mxc: args.mxc, name: args.name, ...(args.mimetype ? { mimetype: args.mimetype } : {}) },
          },
          ...(args.thread_ts ? { threadRoot: this.ws.messageId(channel, args.thread_ts) } : {}),
        };
      }
      case 'reactions.add':
      case 'reactions.remove': {
        // The bot's one reaction per emoji (relay), or the puppeted user's own.
        const userId = this.madeBy(stored, result);
        if (!userId) return undefined;
        const [shown] = await this.toMatrix.shown({
          kind: 'reaction',
          ctx: {},
          action: call.method === 'reactions.add' ? 'added' : 'removed',
          userId,
          name: call.args.name,
          channel,
          targetTs: call.args.timestamp,
        });
        return shown;
      }
      default:
        return undefined;
    }
  }

  /** The Slack user a call was made as: the puppeted user when their token made it, else the bot user. */
  private madeBy(stored: StoredCall, result: CallResult): string | undefined {
    return result.asUser && stored.puppet ? this.ws.puppets.of(stored.puppet)?.slackUserId : this.ws.identity.botUserId;
  }

  private rememberAuthor(id: string, sender: RemoteSender): void {
    this.authors.set(id, 'ghost' in sender ? { ghost: sender.ghost } : sender);
    if (this.authors.size > AUTHORS_KEPT) this.authors.delete(this.authors.keys().next().value!);
  }
}
