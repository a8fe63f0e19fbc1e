// Seeds rooms straight into the homeserver emulator's room store (no HTTP), so
// thousands of rooms can be set up in a second or two. Every event still goes
// through the emulator's auth rules. The bridge bot creates each room and is joined.
import type { HomeserverEmulator } from '@causeway/testing';

export const STATE_AS_TOKEN = 'as_token_state_cache_spec';

export function stateRegistration(id = 'statecache') {
  return {
    id,
    url: null,
    as_token: STATE_AS_TOKEN,
    hs_token: 'hs_token_state_cache_spec',
    sender_localpart: 'bridgebot',
    namespaces: { users: [{ regex: '@_st_.*', exclusive: true }] },
  };
}

function mediaId(n: number): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let s = '';
  let x = (n * 2654435761) >>> 0;
  for (let i = 0; i < 24; i++) {
    s += A[x % 52];
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  }
  return s;
}

/**
 * One room with `members` joined users (the bot included) plus create, power
 * levels, join rules, history visibility, guest access, name, topic, canonical
 * alias and (every other room) encryption: members + 8 or 9 state events.
 */
export function seedRoom(hs: HomeserverEmulator, i: number, members = 21, bot = `@bridgebot:${hs.serverName}`): string {
  const server = hs.serverName;
  const room = hs.rooms.newRoom(bot, '10');
  const send = (sender: string, type: string, content: Record<string, unknown>, state_key = '') =>
    hs.rooms.send(room, { sender, type, content, state_key });
  send(bot, 'm.room.create', { creator: bot, room_version: '10' });
  send(bot, 'm.room.member', { membership: 'join', displayname: 'Bridge bot' }, bot);
  send(bot, 'm.room.power_levels', {
    users: { [bot]: 100, [`@mod${i}:${server}`]: 50 },
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    historical: 100,
    notifications: { room: 50 },
  });
  send(bot, 'm.room.join_rules', { join_rule: 'public' });
  send(bot, 'm.room.history_visibility', { history_visibility: 'shared' });
  send(bot, 'm.room.guest_access', { guest_access: 'can_join' });
  send(bot, 'm.room.name', { name: `Bench room number ${i}` });
  send(bot, 'm.room.topic', { topic: `The topic of bench room ${i}: discussion, links and the occasional cat picture` });
  send(bot, 'm.room.canonical_alias', { alias: `#bench-room-${i}:${server}` });
  if (i % 2 === 0) send(bot, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
  for (let m = 1; m < members; m++) {
    const n = i * members + m;
    const userId = `@user${n}:${server}`;
    send(userId, 'm.room.member', { membership: 'join', displayname: `User ${n}`, avatar_url: `mxc://${server}/${mediaId(n)}` }, userId);
  }
  return room.roomId;
}

export function seedRooms(hs: HomeserverEmulator, n: number, members = 21): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(seedRoom(hs, i, members));
  return ids;
}
