/**
 * Rooms as Matrix users prepare them for a bridge in the specs: created by a room admin, the
 * bridge bot invited, and optionally given power to send state (bridge info, link status), as a
 * room admin must grant in a plumbed room.
 */
import type { HomeserverEmulator, TestUser } from './';
import { fieldsOf } from './util';

/** `owner` sets `userId`'s power level in `roomId`, keeping the rest of the power levels. */
export async function grantPower(hs: HomeserverEmulator, owner: TestUser, roomId: string, userId: string, level: number): Promise<void> {
  const pl = hs.stateEvent(roomId, 'm.room.power_levels')!.content;
  await owner.sendState(roomId, 'm.room.power_levels', '', { ...pl, users: { ...fieldsOf(pl.users), [userId]: level } });
}

/** A public room `owner` creates with `bot` invited; with `botPower` the bot may also send state. */
export async function roomWithBot(hs: HomeserverEmulator, owner: TestUser, bot: string, botPower?: number): Promise<string> {
  const roomId = await owner.createRoom({ preset: 'public_chat' });
  await owner.invite(roomId, bot);
  if (botPower !== undefined) await grantPower(hs, owner, roomId, bot, botPower);
  return roomId;
}
