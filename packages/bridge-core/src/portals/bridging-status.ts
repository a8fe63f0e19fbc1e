/**
 * `m.room.bridging`: the provisioning status matrix-appservice-irc wrote into a room while a
 * link request waited for the remote side's consent (`{user_id, status}`, status `pending`,
 * then `success` or `failure`). Integration managers and widgets read it to show progress.
 *
 * Why a dedicated writer and not a general "set room state" for connectors: the core owns the
 * Matrix side, and a general method would let a connector write any state as the bot (power
 * levels, join rules, tombstones, encryption) in any room the bot is in. This writes one event
 * type with a fixed content shape, nothing else. It cannot be limited to portals, since a
 * request is pending before the room is linked; the connector's provisioning routes have
 * already checked the requester's power in the room.
 *
 * Best effort, like MAI: the bot may lack the power to send state, and a link request must not
 * fail over a status line. Failures are logged and reported as `false`.
 */
import { parseUserId } from '../connector/ids';
import type { Logger } from '../logging/logger';
import type { Intent } from '../matrix/intent';
import { BRIDGING_EVENT_TYPE, type BridgingStatusUpdate } from '../connector/bridging-status';

const STATUSES: readonly string[] = ['pending', 'success', 'failure'];

export async function writeBridgingStatus(bot: Intent, log: Logger, u: BridgingStatusUpdate): Promise<boolean> {
  // Connector input ends up in room state under the bot's name: a malformed update is a connector bug.
  if (!/^![^\s]+$/.test(u.roomId)) throw new TypeError(`Not a room ID: ${u.roomId}`);
  if (!u.stateKey || u.stateKey.length > 1024) throw new TypeError('m.room.bridging needs a state key of 1–1024 characters');
  if (!parseUserId(u.userId)) throw new TypeError(`Not a user ID: ${u.userId}`);
  if (!STATUSES.includes(u.status)) throw new TypeError(`Unknown bridging status ${String(u.status)}`);
  try {
    await bot.sendState(u.roomId, BRIDGING_EVENT_TYPE, u.stateKey, { user_id: u.userId, status: u.status });
    return true;
  } catch (err) {
    log.warn('could not set m.room.bridging (does the bot have power to send state?)', {
      roomId: u.roomId,
      stateKey: u.stateKey,
      status: u.status,
      err: String(err),
    });
    return false;
  }
}
