// Which appservices want an event. Spec: the sender or target (state_key) is the
// AS's bot or in its users namespace, or one of its users is joined to the room,
// or the room ID matches its rooms namespace, or the room has an alias in its
// aliases namespace. The room-level part is cached per room and invalidated on
// membership and alias changes, so pushing stays O(appservices) per event.
import type { Appservice } from './appservices';
import type { EventRecord, Room } from './rooms';

export function isInterestedInRoom(as: Appservice, room: Room): boolean {
  const cached = room.interest.get(as.id);
  if (cached !== undefined) return cached;
  let hit = as.hasRoomNamespaces && as.isRoomInNamespace(room.roomId);
  if (!hit && as.hasAliasNamespaces)
    for (const a of room.aliases)
      if (as.isAliasInNamespace(a)) {
        hit = true;
        break;
      }
  if (!hit)
    for (const u of room.joined)
      if (as.isInterestedInUser(u)) {
        hit = true;
        break;
      }
  room.interest.set(as.id, hit);
  return hit;
}

export function isInterestedInEvent(as: Appservice, room: Room, rec: EventRecord): boolean {
  const ev = rec.ev;
  if (as.isInterestedInUser(ev.sender)) return true;
  if (ev.type === 'm.room.member' && ev.state_key !== undefined && as.isInterestedInUser(ev.state_key)) return true;
  return isInterestedInRoom(as, room);
}
