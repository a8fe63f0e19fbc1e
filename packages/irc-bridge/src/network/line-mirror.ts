/**
 * A channel may be linked to several Matrix rooms. A Matrix user's line goes out on their own IRC
 * connection, and lines from our own connections are never relayed back (they are echoes), so the
 * channel's other Matrix rooms would never see it. Once its lines are stored to go out, the
 * message (or edit) is handed to the core's RoomMirror (which shows it in the portal's other rooms
 * only, once; nothing for a channel linked to one room, nor for private chats), built here as IRC
 * users see it: from the ghost of the nick it is said with. It keeps the `mx:` remote ID of the
 * original, so an edit finds the copy in each room.
 */
import {
  RoomMirror,
  type BridgeContext,
  type GhostKey,
  type MessageContent,
  type Portal,
  type RemoteEvent,
  type RemoteSender,
} from '@causeway/bridge-core';
import { ircToMatrix, type MessageKind } from '../irc';
import type { IrcConfig } from '../config-schema';
import { matrixRemoteId } from './remote-ids';

export interface LineMirrorDeps {
  ctx: BridgeContext<IrcConfig>;
  network: string;
  ghostKey(nick: string): GhostKey;
  displayName(nick: string): string;
}

/** What a line shows on Matrix: IRC formatting as HTML, the kind as msgtype. */
function contentOf(kind: MessageKind, text: string): MessageContent {
  const m = ircToMatrix(text);
  return {
    kind: kind === 'action' ? 'emote' : kind === 'notice' ? 'notice' : 'text',
    body: m.body || ' ',
    ...(m.formattedBody ? { html: m.formattedBody } : {}),
  };
}

export class LineMirror {
  private readonly mirror: RoomMirror;

  constructor(private readonly d: LineMirrorDeps) {
    this.mirror = new RoomMirror(d.ctx, { thing: "a Matrix user's line", place: 'its channel' });
  }

  /** A Matrix message said on IRC as `text` by `nick`. */
  message(portal: Portal, eventId: string, nick: string, kind: MessageKind, text: string, timestamp: number): void {
    this.emit(portal, {
      type: 'message',
      portal: portal.key,
      sender: this.sender(nick),
      id: matrixRemoteId(eventId),
      content: contentOf(kind, text),
      timestamp,
    });
  }

  /** An edit of a Matrix message: the copies show the new text (as it reads sent anew). */
  edit(
    portal: Portal,
    edit: { eventId: string; targetEventId: string; timestamp: number },
    nick: string,
    kind: MessageKind,
    text: string,
  ): void {
    this.emit(portal, {
      type: 'edit',
      portal: portal.key,
      sender: this.sender(nick),
      targetId: matrixRemoteId(edit.targetEventId),
      id: matrixRemoteId(edit.eventId),
      content: contentOf(kind, text),
      timestamp: edit.timestamp,
    });
  }

  private sender(nick: string): RemoteSender {
    return { ghost: this.d.ghostKey(nick), displayName: this.d.displayName(nick) };
  }

  private emit(portal: Portal, event: RemoteEvent): void {
    if (portal.kind === 'dm') return;
    void this.mirror.show({
      roomId: portal.roomId,
      portal: portal.key,
      build: () => event,
      logFields: { network: this.d.network, type: event.type },
    });
  }
}
