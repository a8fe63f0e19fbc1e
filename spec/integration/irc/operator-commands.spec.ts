/**
 * Bridge admins' tools in the admin room (MAI's debug API, without an HTTP API keyed by the
 * as_token): connection figures, closing a user's connections, reaping idle users.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, botMessages, noticesTo, eventually, alias, BOT, NET, type IrcBridge } from './support';

describe('irc-bridge: bridge-admin commands', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let obs: Observer;
  let admin: TestUser;
  let adminRoom: string;

  const command = async (who: TestUser, room: string, text: string): Promise<string> => {
    const before = botMessages(b.fx.hs, room).length;
    await who.sendMessage(room, text);
    return eventually(() => botMessages(b.fx.hs, room)[before], `reply to ${text}`, 30_000);
  };
  const openAdminRoom = async (who: TestUser) => {
    const room = await who.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(room, BOT) === 'join', 'bot joined the admin room');
    return room;
  };
  /** A user connected to IRC and in #ops, as an observer there sees them join. */
  const connectedUser = async (name: string) => {
    const u = await b.fx.hs.registerUser(name, { displayname: name });
    const from = obs.lines.length;
    await u.join(alias('#ops'));
    await obs.waitFor((l) => new RegExp(`:${name}\\[m\\]!\\S+ JOIN :?#ops`, 'i').test(l), 20_000, from);
    return u;
  };

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd);
    obs = await connectObserver(ircd, 'Witness');
    await obs.join('#ops');
    admin = await b.fx.hs.registerUser('admin');
    adminRoom = await openAdminRoom(admin);
  });
  after(async () => {
    await obs?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('are for bridge admins only', async () => {
    const eve = await b.fx.hs.registerUser('eve');
    const room = await openAdminRoom(eve);
    assert.match(await command(eve, room, '!disconnect @admin:localhost'), /admin|permission|not allowed/i);
  });

  it('!connections shows the connections per network by state', async () => {
    await connectedUser('cora');
    const reply = await command(admin, adminRoom, '!connections');
    assert.match(reply, new RegExp(`^${NET}: \\d+ connected; 0 waiting to connect`));
    const connected = Number(/(\d+) connected/.exec(reply)![1]);
    assert.equal(connected, b.connector().networks.get(NET)!.stats().connections.connected);
    assert.ok(connected >= 2, 'the bot and cora at least');
  });

  it("!disconnect closes a user's connection, tells them why; their next message reconnects them", async () => {
    const dan = await connectedUser('dan');
    const roomId = b.fx.hs.resolveAlias(alias('#ops'))!;
    const from = obs.lines.length;
    assert.match(
      await command(admin, adminRoom, '!disconnect @dan:localhost flooding the channel'),
      /^Disconnected @dan:localhost from testnet\.$/,
    );
    await obs.waitFor((l) => /:dan\[m\]!\S+ QUIT /.test(l), 10_000, from);
    await eventually(
      () => noticesTo(b.fx.hs, dan.userId).find((n) => /A bridge admin disconnected you from testnet: flooding the channel/.test(n)),
      'dan told',
    );
    assert.match(await command(admin, adminRoom, '!disconnect @dan:localhost'), /has no IRC connection/);
    await dan.sendMessage(roomId, 'back');
    await obs.waitFor((l) => /:dan\[m\]!\S+ PRIVMSG #ops :back$/.test(l), 20_000, from);
  });

  it('!reapidle lists (--dry-run) or disconnects the users with no bridged activity for that long', async () => {
    const ida = await connectedUser('ida');
    const net = b.connector().networks.get(NET)!;
    await new Promise((r) => setTimeout(r, 1500));
    const roomId = b.fx.hs.resolveAlias(alias('#ops'))!;
    const busy = await connectedUser('busy');
    await busy.sendMessage(roomId, 'still here');
    await b.fx.hs.pusher.waitForIdle();
    await b.fx.bridge.idle();
    // 0.00001 days is under a second: ida (silent for 1.5 s) is idle, busy (just spoke) is not.
    const dry = await command(admin, adminRoom, '!reapidle testnet 0.00001 --dry-run');
    assert.match(dry, /^Would disconnect \d+ user\(s\) idle on testnet/);
    assert.match(dry, /@ida:localhost/);
    assert.doesNotMatch(dry, /@busy:localhost/);
    assert.ok(net.users.get(ida.userId), 'a dry run disconnects nobody');
    const from = obs.lines.length;
    assert.match(await command(admin, adminRoom, '!reapidle testnet 0.00001'), /^Disconnected \d+ user\(s\)/);
    await obs.waitFor((l) => /:ida\[m\]!\S+ QUIT /.test(l), 10_000, from);
    assert.ok(net.users.get(busy.userId), 'the active user stays');
    assert.match(await command(admin, adminRoom, '!reapidle testnet soon'), /not a number of days/);
  });
});
