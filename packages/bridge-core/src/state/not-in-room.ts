/**
 * The one answer an HTTP API (provisioning, the appservice listener's extra routes) gives when a
 * request needs the state of a room the bridge cannot read, instead of a 500 and a stack trace
 * in the log on every such request.
 *
 * The homeserver refuses a room's state to a user who is not in it (403, or 404 for a room it
 * does not know), so the bridge's bot not being in the room is the caller's problem to fix:
 * 403 `M_AS_BRIDGE_NOT_IN_ROOM`. The `M_AS_` prefix is matrix-appservice-bridge's for
 * appservice-specific provisioning errcodes (`M_AS_BAD_VALUE`, `M_AS_LIMIT_EXCEEDED`…); a
 * 403 as hookshot answers `HS_NOT_IN_ROOM`. A homeserver that could not be reached (retries
 * exhausted) is 502: try again later.
 */
import { MatrixError } from '../util/matrix-error';
import { RoomStateUnavailableError } from './state-cache';

const BRIDGE_NOT_IN_ROOM = 'M_AS_BRIDGE_NOT_IN_ROOM';

/** The error to answer for `err` when it is a room whose state cannot be had; undefined otherwise. */
export function unavailableStateAnswer(err: unknown): MatrixError | undefined {
  if (!(err instanceof RoomStateUnavailableError)) return undefined;
  if (err.status === 403 || err.status === 404) {
    return new MatrixError(403, BRIDGE_NOT_IN_ROOM, `The bridge is not in ${err.roomId}: invite the bridge's bot to the room first.`, {
      room_id: err.roomId,
    });
  }
  return new MatrixError(502, 'M_UNKNOWN', `The state of ${err.roomId} could not be read from the homeserver; try again later.`, {
    room_id: err.roomId,
  });
}
