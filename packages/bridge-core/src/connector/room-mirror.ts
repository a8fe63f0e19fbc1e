/**
 * Showing what a Matrix user did in one room of a portal in the portal's other Matrix rooms.
 *
 * A remote place (an IRC channel, a Gitter room, a Slack channel) may be linked to several Matrix
 * rooms. A Matrix user's message reaches the network from room A, but a connector drops the
 * network's echo of the bridge's own activity, so room B would never see it. The connector hands
 * the operation, once the network accepted it, to a `RoomMirror` with a builder that says how the
 * network now shows it (its sender and content: that part is the network's). The mirror does the
 * rest, the same for every bridge:
 *
 * - nothing is built or emitted when the portal has no other (non-DM) Matrix room;
 * - the event gets `originRoomId`, so the core applies it to the other rooms only (RemoteEventBase);
 * - an operation shown once is not shown again when the connector hands it over a second time
 *   (a redelivered Matrix event, a resumed send): messages and edits by their remote id, deletions
 *   by their target, anything else by what the connector names (`once`); the core's transaction
 *   IDs, derived from the same remote ids, cover a restart;
 * - it never rejects: a failure is logged, since the original has reached the network already.
 */
import type { PortalKey } from './ids';
import type { RemoteEvent } from './remote-events';
import type { BridgeContext } from './context';

/** What the mirror needs of the connector's context. */
export type RoomMirrorContext = Pick<BridgeContext, 'portals' | 'remote' | 'log'>;

/** Something a Matrix user did through the bridge, to show in the portal's other rooms. */
export interface MirrorRequest {
  /** The Matrix room it was done in: it shows the original, and is skipped. */
  roomId: string;
  portal: PortalKey;
  /**
   * The event as the network now shows it (from the remote account that did it), without
   * `originRoomId`; undefined when there is nothing to show. Called only when there is another room.
   */
  build(): RemoteEvent | undefined | Promise<RemoteEvent | undefined>;
  /**
   * What makes the operation the same one when handed over again, for events without a stable
   * remote id (a reaction): e.g. the Matrix event it comes from. By default the event's remote id.
   */
  once?: string;
  /** Fields for the warning logged when it could not be shown. */
  logFields?: Record<string, unknown>;
}

/** How many shown operations are remembered against a second hand-over. */
const REMEMBERED = 10_000;

export class RoomMirror {
  private readonly shown = new Set<string>();

  /**
   * @param ctx the connector's context
   * @param what what is mirrored, for the warning ("a Matrix user's line"), and where ("the channel")
   */
  constructor(
    private readonly ctx: RoomMirrorContext,
    private readonly what: { thing: string; place: string },
  ) {}

  /** Shows the operation in the portal's other rooms; resolves when applied there (or skipped). */
  async show(req: MirrorRequest): Promise<void> {
    try {
      const portals = await this.ctx.portals.getByKey(req.portal);
      if (!portals.some((p) => p.kind !== 'dm' && p.roomId !== req.roomId)) return;
      const named = req.once !== undefined ? `o\u0000${req.roomId}\u0000${req.once}` : undefined;
      if (named !== undefined && this.shown.has(named)) return;
      const event = await req.build();
      if (!event) return;
      const once = named ?? onceKey(req.roomId, event);
      if (once !== undefined && this.shown.has(once)) return;
      await this.ctx.remote.emit({ ...event, originRoomId: req.roomId });
      if (once !== undefined) remember(this.shown, once);
    } catch (err) {
      this.ctx.log.warn(`${this.what.thing} not shown in the other Matrix rooms of ${this.what.place}`, {
        ...req.logFields,
        err: String(err),
      });
    }
  }
}

/** What makes a mirrored operation the same one handed over again; undefined: no stable identity. */
function onceKey(roomId: string, ev: RemoteEvent): string | undefined {
  const portal = `${ev.portal.network}\u0000${ev.portal.id}`;
  switch (ev.type) {
    case 'message':
      return `m\u0000${roomId}\u0000${portal}\u0000${ev.id}`;
    case 'edit':
      return ev.id === undefined ? undefined : `e\u0000${roomId}\u0000${portal}\u0000${ev.id}`;
    case 'delete':
      return `d\u0000${roomId}\u0000${portal}\u0000${ev.targetId}`;
    default:
      // A reaction may be removed and added again: each is a new operation.
      return undefined;
  }
}

function remember(set: Set<string>, key: string): void {
  set.add(key);
  if (set.size > REMEMBERED) set.delete(set.values().next().value as string);
}
