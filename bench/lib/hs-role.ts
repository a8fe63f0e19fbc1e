/**
 * The homeserver emulator as a bench role, for benches that relay between Matrix and one remote
 * network through a bridge and through a minimal relay: Matrix people, the bridge's portal rooms,
 * the minimal relay's appservice and rooms, paced Matrix sends, and timed receipts of what either
 * relay sends into Matrix.
 */
import type { RegistrationLike, TestUser } from '@causeway/testing';
import type { Relay } from './relay-rounds';
import { Receipts, stamp } from './receipts';
import { serve } from './roles';
import { paced } from './timing';

/** The minimal relay's appservice: one user, no URL namespace beyond it. */
export const MINIMAL_USER = '@bare_relay:localhost';
export const MINIMAL_AS_TOKEN = 'bench-bare-relay-as-token';

export interface HsRoleOptions {
  /** Senders whose messages are timed: the bridge's ghosts (by ID prefix) and the minimal relay's user. */
  ghostPrefix: string;
  people: number;
  rooms: number;
  /** Which person sends message i, and into which room. */
  sender(i: number): number;
  room(i: number): number;
}

export async function hsRole(o: HsRoleOptions): Promise<void> {
  const { HomeserverEmulator } = await import('@causeway/testing');
  const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
  const receipts = new Receipts();
  // What the relays send, timed as the emulator handles the send request.
  const origSend = hs.rooms.send.bind(hs.rooms);
  hs.rooms.send = (r, d) => {
    const rec = origSend(r, d);
    const body = d.content.body;
    if (d.type === 'm.room.message' && typeof body === 'string' && (d.sender.startsWith(o.ghostPrefix) || d.sender === MINIMAL_USER))
      receipts.record(body, r.roomId);
    return rec;
  };
  const users: TestUser[] = [];
  const rooms: Record<Relay, string[]> = { bridge: [], minimal: [] };

  serve({
    info: () => ({ url: hs.url, serverName: hs.serverName }),
    addRegistration: (reg: RegistrationLike) => hs.addRegistration(reg),
    membership: ({ roomId, userId }: { roomId: string; userId: string }) => hs.membership(roomId, userId),
    /** Matrix people, and the bridge's rooms: created by the first with the bridge's bot invited, everyone joined. */
    async setupBridgeRooms({ bot }: { bot: string }) {
      for (let i = 0; i < o.people; i++) users.push(await hs.registerUser(`mu${i}`, { displayname: `Matrix user ${i}` }));
      for (let c = 0; c < o.rooms; c++) {
        const id = await users[0].createRoom({ preset: 'public_chat', invite: [bot] });
        for (const u of users.slice(1)) await u.join(id);
        rooms.bridge.push(id);
      }
      return rooms.bridge;
    },
    /** The minimal relay's appservice (it hears its rooms through its bot, echoes included) and its rooms, everyone joined. */
    async setupMinimalRooms({ url }: { url: string }) {
      hs.addRegistration({
        id: 'bench-bare-relay',
        url,
        as_token: MINIMAL_AS_TOKEN,
        hs_token: 'bench-bare-relay-hs-token',
        sender_localpart: MINIMAL_USER.slice(1, MINIMAL_USER.indexOf(':')),
        rate_limited: false,
        namespaces: { users: [{ exclusive: true, regex: MINIMAL_USER }], aliases: [], rooms: [] },
      });
      const bot = hs.appserviceClient('bench-bare-relay');
      for (let c = 0; c < o.rooms; c++) {
        const id = await bot.createRoom({ preset: 'public_chat' });
        for (const u of users) await u.join(id);
        rooms.minimal.push(id);
      }
      return { url: hs.url, rooms: rooms.minimal };
    },
    /** Matrix→remote: the people send `count` messages at `rate`/s into the relay's rooms (as the homeserver accepting them). */
    async send({ count, rate, tag, relay }: { count: number; rate: number; tag: string; relay: Relay }) {
      await paced(count, rate, (i) => {
        hs.rooms.send(hs.rooms.get(rooms[relay][o.room(i)])!, {
          sender: users[o.sender(i)].userId,
          type: 'm.room.message',
          content: { msgtype: 'm.text', body: `m ${stamp(tag, i)}` },
        });
      });
    },
    count: ({ tag }: { tag: string }) => receipts.count(tag),
    take: ({ tag }: { tag: string }) => receipts.take(tag),
  });
}
