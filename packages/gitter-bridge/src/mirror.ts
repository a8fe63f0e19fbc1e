/**
 * One Gitter room may be linked to several Matrix rooms. A Matrix user's message in one of them
 * reaches Gitter, but the bridge drops the stream's copy of its own posts (echo suppression), so
 * the other Matrix rooms would never see it. Instead, once Gitter accepted a send, an edit or a
 * delete coming from Matrix, the connector hands it to the core's RoomMirror (which shows it in the
 * portal's other rooms only), built here as Gitter now shows it.
 *
 * There it comes from the ghost of the Gitter account that posted it: the relay's (its text shows
 * the Matrix sender's name, as Gitter users see it) or the puppeted user's own. The message keeps
 * its Gitter id, so the message map of each room finds it for later edits, deletions and replies
 * from either side. Each operation settles once (a redelivered Matrix event whose send was done
 * is not settled again), and RoomMirror shows an operation once, so each room gets the mirror once.
 */
import type { PortalKey, RemoteEvent } from '@causeway/bridge-core';
import { gitterEvent, ghostKey, type InboundDeps } from './inbound';
import type { StoredOp } from './outbox-send-store';
import type { SendOutcome } from './gitter';

export interface MirrorDeps extends InboundDeps {
  /** The Gitter username that wrote a message, when known (the ghost that may redact it). */
  authorOf(messageId: string): string | undefined;
}

/** How Gitter shows a delivered Matrix → Gitter operation, for the other rooms (RoomMirror adds originRoomId). */
export function mirroredEvent(outcome: SendOutcome, portal: PortalKey, deps: MirrorDeps): RemoteEvent | undefined {
  if (!outcome.ok) return undefined;
  const op = outcome.op as StoredOp;
  if (op.kind === 'delete') {
    if (!('messageId' in op.target)) return undefined;
    const author = deps.authorOf(op.target.messageId);
    return {
      type: 'delete',
      portal,
      sender: author ? { ghost: ghostKey(author) } : { bot: true },
      targetId: op.target.messageId,
    };
  }
  if (!outcome.message) return undefined;
  return gitterEvent(outcome.message, portal, op.kind === 'send', deps);
}
