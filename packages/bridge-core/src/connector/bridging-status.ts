/**
 * `m.room.bridging`: the link status a connector may write while a link request waits for the
 * remote side's consent (`ctx.portals.setBridgingStatus`). The writer lives in
 * portals/bridging-status.ts; this is the shape a connector hands it.
 */

export const BRIDGING_EVENT_TYPE = 'm.room.bridging';
export type BridgingStatus = 'pending' | 'success' | 'failure';

export interface BridgingStatusUpdate {
  roomId: string;
  /** Which link this is about, e.g. `irc://irc.example.org/#channel`. */
  stateKey: string;
  /** The Matrix user who asked for the link. */
  userId: string;
  status: BridgingStatus;
}
