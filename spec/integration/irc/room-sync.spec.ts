/**
 * What a Matrix room shows of its IRC channel when the bridge did not see it happen: members that
 * joined before a restart, a channel's topic, ops and modes set before its portal existed, and
 * what an unlink leaves behind. Plus the limits on what IRC modes may change in a room: they
 * never demote a Matrix moderator, and never open or list a room its owners made private.
 */
import { strict as assert } from 'node:assert';
import { asString, startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, eventually, noticesTo, NET, BOT, type IrcBridge } from './support';

describe('irc-bridge: room state the bridge did not see happen', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let alice: TestUser;
  const observers: Observer[] = [];
  const observer = async (nick: string, ...channels: string[]) => {
    const o = await connectObserver(ircd, nick);
    observers.push(o);
    for (const c of channels) await o.join(c);
    return o;
  };
  const hs = () => b.fx.hs;
  const powerOf = (roomId: string, userId: string) => hs().stateEvent(roomId, 'm.room.power_levels')?.content.users?.[userId];
  const joinRule = (roomId: string) => hs().stateEvent(roomId, 'm.room.join_rules')?.content.join_rule;
  const published = (roomId: string) => hs().rooms.published.has(roomId);
  const settle = (ms = 1500) => new Promise((r) => setTimeout(r, ms));

  before(async () => {
    ircd = await startInspircd();
    // initial: false (the default): after a restart the bridge does not re-announce who is in a channel.
    b = await startIrcBridge(ircd, { membership: { irc_to_matrix: { initial: false, incremental: true } } });
    alice = await hs().registerUser('alice', { displayname: 'Alice' });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('makes IRC users who joined before a restart leave when they part or quit after it', async () => {
    const roomId = await alice.join(alias('#kept'));
    const pat = await observer('Pat', '#kept');
    const sam = await observer('Sam', '#kept');
    await eventually(
      () => hs().membership(roomId, ghostId('Pat')) === 'join' && hs().membership(roomId, ghostId('Sam')) === 'join',
      'ghosts joined',
    );

    await b.fx.restart();
    const net = b.connector().networks.get(NET)!;
    await eventually(() => net.botClient?.channels.has('#kept') && net.channels.get('#kept')?.synced, 'bot back in #kept');
    pat.raw('PART #kept :bye now');
    await sam.close();
    await eventually(() => hs().membership(roomId, ghostId('Pat')) === 'leave', 'Pat left after the restart');
    assert.match(asString(hs().stateEvent(roomId, 'm.room.member', ghostId('Pat'))?.content.reason, 'reason'), /bye now/);
    await eventually(() => hs().membership(roomId, ghostId('Sam')) === 'leave', 'Sam quit after the restart');
  });

  it('applies a TOPIC and the NICK right after it in that order: the old ghost sets the topic and leaves for good', async () => {
    const owner = await observer('Otto', '#order'); // first in: operator
    owner.raw('MODE #order -t'); // anyone may set the topic
    await owner.waitFor((l) => / MODE #order :?-t/.test(l));
    const roomId = await alice.join(alias('#order'));
    const net = b.connector().networks.get(NET)!;
    await eventually(() => net.channels.get('#order')?.synced, 'bot in #order');
    const uma = await observer('Uma', '#order');
    await eventually(() => hs().membership(roomId, ghostId('Uma')) === 'join', "Uma's ghost joined");
    const mark = hs().roomTimeline(roomId).length;
    uma.raw('TOPIC #order :topic before the nick');
    uma.raw('NICK Uma2');
    await eventually(() => hs().membership(roomId, ghostId('Uma2')) === 'join', "Uma2's ghost joined");
    await eventually(() => hs().stateEvent(roomId, 'm.room.topic')?.content.topic === 'topic before the nick', 'topic');
    await b.fx.bridge.idle();
    const after = hs().roomTimeline(roomId).slice(mark);
    const at = (pred: (e: { type: string; state_key?: string; content: Record<string, unknown> }) => boolean) => after.findIndex(pred);
    const topic = at((e) => e.type === 'm.room.topic');
    const leave = at((e) => e.type === 'm.room.member' && e.state_key === ghostId('Uma') && e.content.membership === 'leave');
    const join2 = at((e) => e.type === 'm.room.member' && e.state_key === ghostId('Uma2') && e.content.membership === 'join');
    assert.ok(topic >= 0 && topic < leave && leave < join2, `timeline order: topic ${topic}, Uma leaves ${leave}, Uma2 joins ${join2}`);
    assert.equal(hs().membership(roomId, ghostId('Uma')), 'leave', 'the old ghost did not come back');
    assert.ok(
      !after.slice(leave + 1).some((e) => e.type === 'm.room.member' && e.state_key === ghostId('Uma')),
      'no rejoin of the old ghost',
    );
  });

  it('fills a portal created by alias with the topic, ops and modes its channel had before', async () => {
    const olga = await observer('Olga', '#before'); // first in: operator
    olga.raw('TOPIC #before :set before the portal');
    olga.raw('MODE #before +ism');
    await olga.waitFor((l) => / MODE #before \+ism/.test(l) || / MODE #before :\+ism/.test(l), 5000);
    olga.raw('INVITE CwBot #before'); // +i: the bot needs an invite to get in
    const bob = await hs().registerUser('bob');
    // The room is created on the alias query, while the bot is on its way into the channel.
    await bob.request('GET', `/directory/room/${encodeURIComponent(alias('#before'))}`).catch(() => undefined);
    const roomId = hs().resolveAlias(alias('#before'));
    assert.ok(roomId, 'portal created');
    await eventually(() => hs().stateEvent(roomId, 'm.room.topic')?.content.topic === 'set before the portal', 'topic');
    await eventually(() => powerOf(roomId, ghostId('Olga')) === 50, 'the op ghost at PL 50');
    await eventually(() => joinRule(roomId) === 'invite', '+i → invite only');
    await eventually(() => !published(roomId), '+s → not in the directory');
    await eventually(() => hs().stateEvent(roomId, 'm.room.power_levels')?.content.events_default === 1, '+m → moderated');
    // Taking the modes off returns to the configured defaults (public, listed), not further.
    olga.raw('MODE #before -ism');
    await eventually(() => joinRule(roomId) === 'public' && published(roomId), 'configured join rule and listing back');
    await eventually(() => hs().stateEvent(roomId, 'm.room.power_levels')?.content.events_default === 0, 'unmoderated');
  });

  it("never demotes a Matrix moderator for an IRC voice, and leaves a plumbed room's join rule to its owners", async () => {
    const vic = await observer('Vic', '#plumb'); // operator of #plumb
    // A room of Alice's own, invite-only, with Carol as a Matrix moderator, linked by an admin.
    const carol = await hs().registerUser('carol', { displayname: 'Carol' });
    const roomId = await alice.createRoom({
      preset: 'private_chat',
      invite: [BOT, carol.userId],
      power_level_content_override: { users: { [alice.userId]: 100, [BOT]: 100, [carol.userId]: 50 } },
    });
    await carol.join(roomId);
    await b.fx.bridge.portals.link(roomId, { network: NET, id: '#plumb' });
    const net = b.connector().networks.get(NET)!;
    await eventually(() => net.channels.get('#plumb')?.synced, 'bot in #plumb');
    // Carol speaks: she gets a connection and joins the channel.
    await carol.sendMessage(roomId, 'hello irc');
    await vic.waitFor((l) => /:Carol\[m\]!\S+ PRIVMSG #plumb :hello irc/.test(l), 20_000);

    vic.raw('MODE #plumb +v Carol[m]');
    vic.raw('MODE #plumb -i');
    vic.raw('MODE #plumb +o Vic');
    await eventually(() => powerOf(roomId, ghostId('Vic')) === 50, 'Vic op → PL 50 (ghost levels apply in plumbed rooms)');
    assert.equal(powerOf(roomId, carol.userId), 50, 'a voice does not lower a Matrix moderator');
    vic.raw('MODE #plumb -v Carol[m]');
    vic.raw('MODE #plumb +s');
    vic.raw('MODE #plumb -o Vic');
    await eventually(() => powerOf(roomId, ghostId('Vic')) === undefined, 'Vic deopped');
    assert.equal(powerOf(roomId, carol.userId), 50, 'devoice does not demote her either');
    assert.equal(joinRule(roomId), 'invite', 'IRC -i did not open a plumbed room');
  });

  it('writes a burst of IRC mode changes as one power-levels event', async () => {
    const crowd = ['Cr1', 'Cr2', 'Cr3', 'Cr4', 'Cr5', 'Cr6'];
    const boss = await observer('Boss', '#crowd'); // operator
    const roomId = await alice.join(alias('#crowd'));
    for (const n of crowd) await observer(n, '#crowd');
    await eventually(() => crowd.every((n) => hs().membership(roomId, ghostId(n)) === 'join'), 'crowd joined');
    const plEvents = () =>
      hs()
        .roomTimeline(roomId)
        .filter((e) => e.type === 'm.room.power_levels').length;
    const before = plEvents();
    for (const n of crowd) boss.raw(`MODE #crowd +v ${n}`); // one line each, as ChanServ or a script does
    await eventually(() => crowd.every((n) => powerOf(roomId, ghostId(n)) === 1), 'everyone voiced');
    await settle(1500);
    assert.equal(plEvents() - before, 1, 'one power-levels event for the burst');
  });

  it("turns an IRC INVITE of a Matrix user into a Matrix invite to the channel's room, or tells them how to join", async () => {
    const ivy = await observer('Ivy', '#invhome', '#inv', '#noroom');
    await alice.join(alias('#invhome')); // Alice is connected and in a channel Ivy sees
    await ivy.waitFor((l) => /:Alice\[m\]!\S+ JOIN :?#invhome/i.test(l), 20_000);
    const bob = await hs().registerUser('bobinv');
    const roomId = await bob.join(alias('#inv'));
    ivy.raw('INVITE Alice[m] #inv');
    await eventually(() => hs().membership(roomId, alice.userId) === 'invite', 'Alice invited on Matrix');
    assert.match(asString(hs().stateEvent(roomId, 'm.room.member', alice.userId)?.content.reason, 'reason'), /Ivy invited you/);
    ivy.raw('INVITE Alice[m] #noroom');
    await eventually(
      () => noticesTo(hs(), alice.userId).some((n) => /Ivy invited you to #noroom.*!join #noroom/.test(n)),
      'told how to join',
    );
    assert.equal(hs().resolveAlias(alias('#noroom')), undefined, 'no room created on an invite');
  });

  it('kicks a Matrix user from the room of a channel that refuses their JOIN, tells them why, and stops re-joining it', async () => {
    const keeper = await observer('Keeper', '#closed'); // operator
    keeper.raw('MODE #closed +k sesame');
    await keeper.waitFor((l) => / MODE #closed \+k/.test(l), 5000);
    const dana = await hs().registerUser('dana', { displayname: 'Dana' });
    const roomId = await dana.join(alias('#closed')); // no key: the bot and Dana are refused
    await eventually(() => hs().membership(roomId, dana.userId) === 'leave', 'Dana kicked from the room');
    assert.match(asString(hs().stateEvent(roomId, 'm.room.member', dana.userId)?.content.reason, 'reason'), /wrong or missing channel key/);
    await eventually(() => noticesTo(hs(), dana.userId).some((n) => /Cannot join #closed/.test(n)), 'Dana told');
    const client = b.connector().networks.get(NET)!.users.pool.get(dana.userId)!;
    assert.ok(!client.channels.has('#closed'), 'not re-joined after a reconnect');
  });

  it('on unlink, makes the ghosts leave the room and PARTs the Matrix users from the channel', async () => {
    const roomId = await alice.join(alias('#gone'));
    const una = await observer('Una', '#gone');
    await eventually(
      () => una.lines.some((l) => /:Alice\[m\]!\S+ JOIN :?#gone/i.test(l)) || una.lines.some((l) => / 353 .*Alice\[m\]/i.test(l)),
      'Alice in #gone',
    );
    await eventually(() => hs().membership(roomId, ghostId('Una')) === 'join', 'Una ghost joined');
    const from = una.lines.length;
    assert.ok(await b.fx.bridge.portals.unlink(roomId, { actor: '@admin:localhost' }));
    await una.waitFor((l) => /:Alice\[m\]!\S+ PART #gone/i.test(l), 10_000, from);
    await una.waitFor((l) => /:CwBot!\S+ PART #gone/i.test(l), 10_000, from);
    await eventually(() => hs().membership(roomId, ghostId('Una')) === 'leave', 'Una ghost left');
    // Not re-joined on a reconnect: the channel left Alice's wanted list.
    const client = b.connector().networks.get(NET)!.users.pool.get(alice.userId)!;
    assert.ok(!client.channels.has('#gone'));
    await settle(300);
  });
});
