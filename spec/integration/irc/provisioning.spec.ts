/**
 * IRC provisioning through the real bridge (core auth, rate limits, validation),
 * InspIRCd and the homeserver emulator: MAI's routes, and linking only with the
 * consent of a channel operator answering the relay bot on IRC.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, ghostId, messages, noticesTo, eventually, NET, BOT, type IrcBridge } from './support';
import { asObjects, asString, at, grantPower, httpCall } from '@causeway/testing';

const SECRET = 'irc-provisioning-secret-0123456789abcdef';

describe('irc-bridge: provisioning API (link with channel operator consent)', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let alice: TestUser;
  let bob: TestUser;
  const observers: Observer[] = [];

  const observer = async (nick: string, channel?: string) => {
    const o = await connectObserver(ircd, nick);
    observers.push(o);
    if (channel) await o.join(channel);
    return o;
  };
  const call = (method: string, path: string, body?: unknown, token: string | null = SECRET, user = alice.userId) => {
    const sep = path.includes('?') ? '&' : '?';
    return httpCall(b.fx.asUrl, method, `/_matrix/provision${path}${sep}user_id=${encodeURIComponent(user)}`, { token, body });
  };
  /**
   * A room Alice owns with the bridge bot invited, as an integration manager would prepare it;
   * with `botPower` Alice also lets the bot send state (the link status and bridge info).
   */
  const room = async (botPower?: number) => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    await alice.invite(roomId, BOT);
    if (botPower !== undefined) await grantPower(b.fx.hs, alice, roomId, BOT, botPower);
    await b.fx.hs.pusher.waitForIdle();
    await b.fx.bridge.idle();
    return roomId;
  };
  /** Waits for the bot's link request PM to `op`, returns its text. */
  const requestTo = (op: Observer, from: number) =>
    op.waitFor((l) => new RegExp(`:CwBot!\\S+ PRIVMSG ${op.nick} :.*wants to bridge`).test(l), 15_000, from);
  /** The link request's progress as the room shows it (MAI's `m.room.bridging`, keyed by server address and channel). */
  const bridging = (roomId: string, channel: string) => b.fx.hs.stateEvent(roomId, 'm.room.bridging', `irc://${ircd.host}/${channel}`);
  const bridgingIs = (roomId: string, channel: string, status: string) => {
    const e = bridging(roomId, channel);
    return e?.sender === BOT && e.content.user_id === alice.userId && e.content.status === status;
  };

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(
      ircd,
      {},
      {
        core: {
          provisioning: {
            enabled: true,
            secret: SECRET,
            rate_limit: { enabled: true, per_user_per_minute: 1000, per_ip_per_minute: 1000 },
          },
        },
        irc: { provisioning: { request_timeout_s: 3, room_limit: 0, rules: { conflict: ['^@oldirc_'], exempt: ['^@oldirc_friend:'] } } },
      },
    );
    alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('refuses every route without a token (401) and with a wrong one (403)', async () => {
    const link = { remote_room_server: NET, remote_room_channel: '#x', matrix_room_id: '!r:localhost', op_nick: 'x' };
    const routes: Array<[string, string, unknown?]> = [];
    for (const v of ['', '/v1']) {
      routes.push(
        ['POST', `${v}/link`, link],
        ['POST', `${v}/unlink`, link],
        ['GET', `${v}/listlinks/${encodeURIComponent('!r:localhost')}`],
        ['POST', `${v}/querylink`, { remote_room_server: NET, remote_room_channel: '#x' }],
        ['GET', `${v}/querynetworks`],
        ['GET', `${v}/limits`],
      );
    }
    for (const [method, path, body] of routes) {
      const none = await call(method, path, body, null);
      assert.equal(none.status, 401, `${method} ${path} without a token: ${none.text}`);
      const wrong = await call(method, path, body, 'w'.repeat(48));
      assert.equal(wrong.status, 403, `${method} ${path} with a wrong token: ${wrong.text}`);
    }
  });

  it('answers 403 M_AS_BRIDGE_NOT_IN_ROOM to /link, /unlink and /listlinks on a room the bot is not in', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' }); // the bot never invited
    const link = { remote_room_server: NET, remote_room_channel: '#outside', matrix_room_id: roomId, op_nick: 'someop' };
    for (const [method, path, body] of [
      ['POST', '/link', link],
      ['POST', '/unlink', link],
      ['GET', `/listlinks/${encodeURIComponent(roomId)}`],
    ] as const) {
      const r = await call(method, path, body);
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.errcode, 'M_AS_BRIDGE_NOT_IN_ROOM');
    }
  });

  it("refuses to link a room with a member provisioning.rules.conflict names (another IRC bridge's user), unless exempt", async () => {
    const roomId = await room(50);
    const other = await b.fx.hs.registerUser('oldirc_someone');
    const friend = await b.fx.hs.registerUser('oldirc_friend');
    await friend.join(roomId);
    await other.join(roomId);
    const body = { remote_room_server: NET, remote_room_channel: '#rules', matrix_room_id: roomId, op_nick: 'Nobody' };
    const refused = await call('POST', '/link', body);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.errcode, 'IRC_DOUBLE_BRIDGE');
    assert.match(asString(refused.body.error, 'error'), /@oldirc_someone:localhost/);
    assert.doesNotMatch(asString(refused.body.error, 'error'), /oldirc_friend/, 'exempt users are not named');
    await other.leave(roomId);
    await b.fx.hs.pusher.waitForIdle();
    await b.fx.bridge.idle();
    // Past the rules now: the request goes on to the operator check (nobody is an operator here).
    const next = await call('POST', '/link', body);
    assert.equal(next.body.errcode, 'IRC_BAD_OPERATOR_TARGET', next.text);
  });

  it('lists networks and limits; querylink reports the channel operators, not the bot', async () => {
    const nets = await call('GET', '/querynetworks');
    assert.equal(nets.status, 200, nets.text);
    assert.deepEqual(
      asObjects(nets.body.servers, 'servers').map((s) => at(s, 'fields', 'network')),
      [NET],
    );
    const limits = await call('GET', '/limits');
    assert.equal(limits.status, 200);
    assert.equal(typeof limits.body.count, 'number');
    assert.equal(limits.body.limit, null);
    await observer('Qop', '#query'); // first in: operator
    await observer('Qpleb', '#query');
    const q = await call('POST', '/querylink', { remote_room_server: NET, remote_room_channel: '#query' });
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(q.body.operators, ['Qop']);
    const unknown = await call('POST', '/querylink', { remote_room_server: 'nope', remote_room_channel: '#query' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'IRC_UNKNOWN_NETWORK');
  });

  it('links a room once the channel operator answers "yes"; messages then flow both ways; unlink undoes it', async () => {
    const op = await observer('Lop', '#prov');
    const roomId = await room(50);
    const body = { remote_room_server: NET, remote_room_channel: '#prov', matrix_room_id: roomId, op_nick: 'Lop' };
    // Bob is in the room but has no power to change power levels.
    const powerless = await call('POST', '/link', body, SECRET, bob.userId);
    assert.equal(powerless.status, 403, powerless.text);
    assert.equal(powerless.body.errcode, 'IRC_NOT_ENOUGH_POWER', "MAI's errcode, which integration managers written against it check");
    assert.equal(powerless.body.required_power_level, 100, 'the level to change m.room.power_levels');

    let from = op.lines.length;
    const res = await call('POST', '/link', body);
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.status, 'pending');
    // The room says the request is pending before the operator is even asked.
    assert.ok(bridgingIs(roomId, '#prov', 'pending'), JSON.stringify(bridging(roomId, '#prov')));
    const ask = await requestTo(op, from);
    assert.ok(ask.includes('@alice:localhost') && ask.includes(roomId) && /"yes"/.test(ask), ask);
    // Pending: not linked yet, and a second request to the same operator is refused.
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
    const again = await call('POST', '/link', body);
    assert.equal(again.status, 409);
    assert.equal(again.body.errcode, 'IRC_EXISTING_REQUEST');
    // Someone else saying yes does not count; the operator's "yes" does.
    const other = await observer('Lother');
    other.raw('PRIVMSG CwBot :yes');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
    op.raw('PRIVMSG CwBot :Yes');
    const portal = await eventually(() => b.fx.bridge.portals.getByRoom(roomId), 'room linked');
    assert.equal(portal.kind, 'plumbed');
    assert.deepEqual(portal.key, { network: NET, id: '#prov' });
    await eventually(() => noticesTo(b.fx.hs, alice.userId).find((n) => /#prov .*now bridged.*Lop approved/.test(n)), 'requester told');
    await eventually(() => bridgingIs(roomId, '#prov', 'success'), 'm.room.bridging success');
    // The core's bridge info, with what the IRC bridge knows of the network and channel.
    const info = ['m.bridge', 'uk.half-shot.bridge'].map((t) => b.fx.hs.stateEvent(roomId, t, `irc/${NET}/#prov`));
    for (const e of info) {
      assert.equal(e?.sender, BOT);
      assert.deepEqual(e?.content, {
        bridgebot: BOT,
        creator: alice.userId,
        protocol: { id: 'irc', displayname: 'IRC' },
        network: { id: NET, displayname: NET, external_url: `irc://${ircd.host}:${ircd.port}` },
        channel: { id: '#prov', displayname: '#prov', external_url: `irc://${ircd.host}:${ircd.port}/%23prov` },
      });
    }

    from = op.lines.length;
    await alice.sendMessage(roomId, 'hello from a plumbed room');
    await op.waitFor((l) => /:Alice\[m\]!\S+ PRIVMSG #prov :hello from a plumbed room$/.test(l), 15_000, from);
    op.raw('PRIVMSG #prov :hello matrix');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Lop')).find((e) => e.content.body === 'hello matrix'),
      'IRC line in the room',
    );

    const list = await call('GET', `/listlinks/${encodeURIComponent(roomId)}`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json, [{ matrix_room_id: roomId, remote_room_server: NET, remote_room_channel: '#prov' }]);
    const dup = await call('POST', '/link', body);
    assert.equal(dup.status, 409);
    assert.equal(dup.body.errcode, 'IRC_EXISTING_MAPPING');

    const wrongChannel = await call('POST', '/unlink', { remote_room_server: NET, remote_room_channel: '#other', room_id: roomId });
    assert.equal(wrongChannel.status, 404);
    assert.equal(wrongChannel.body.errcode, 'IRC_UNKNOWN_ROOM');
    const un = await call('POST', '/v1/unlink', { remote_room_server: NET, remote_room_channel: '#prov', room_id: roomId });
    assert.equal(un.status, 200, un.text);
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
    assert.deepEqual((await call('GET', `/listlinks/${encodeURIComponent(roomId)}`)).json, []);
    for (const t of ['m.bridge', 'uk.half-shot.bridge']) assert.deepEqual(b.fx.hs.stateEvent(roomId, t, `irc/${NET}/#prov`)?.content, {});
  });

  it('refuses a link when op_nick is not an operator, when the operator says no, and when nobody answers in time', async () => {
    const op = await observer('Rop', '#refuse');
    const pleb = await observer('Rpleb', '#refuse');
    const roomId = await room(50);
    const body = (op_nick: string) => ({ remote_room_server: NET, remote_room_channel: '#refuse', matrix_room_id: roomId, op_nick });

    const notOp = await call('POST', '/link', body('Rpleb'));
    assert.equal(notOp.status, 400, notOp.text);
    assert.equal(notOp.body.errcode, 'IRC_BAD_OPERATOR_TARGET');
    const absent = await call('POST', '/link', body('Nobody'));
    assert.equal(absent.body.errcode, 'IRC_BAD_OPERATOR_TARGET');
    assert.ok(!pleb.lines.some((l) => / PRIVMSG Rpleb :.*wants to bridge/.test(l)));

    // The operator declines: an unrelated reply gets a reminder, "no" refuses.
    let from = op.lines.length;
    assert.equal((await call('POST', '/link', body('Rop'))).status, 202);
    assert.ok(bridgingIs(roomId, '#refuse', 'pending'), JSON.stringify(bridging(roomId, '#refuse')));
    await requestTo(op, from);
    from = op.lines.length;
    op.raw('PRIVMSG CwBot :what is this?');
    await op.waitFor((l) => /:CwBot!\S+ PRIVMSG Rop :Please answer "yes"/.test(l), 10_000, from);
    op.raw('PRIVMSG CwBot :no');
    await eventually(() => noticesTo(b.fx.hs, alice.userId).find((n) => /#refuse .*not approved: Rop declined/.test(n)), 'declined told');
    await eventually(() => bridgingIs(roomId, '#refuse', 'failure'), 'm.room.bridging failure after "no"');
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);

    // Nobody answers within request_timeout_s (3 s here); a late "yes" does nothing.
    from = op.lines.length;
    assert.equal((await call('POST', '/link', body('Rop'))).status, 202);
    assert.ok(bridgingIs(roomId, '#refuse', 'pending'), JSON.stringify(bridging(roomId, '#refuse')));
    await requestTo(op, from);
    await eventually(
      () => noticesTo(b.fx.hs, alice.userId).find((n) => /#refuse .*not approved: Rop did not answer within 3 seconds/.test(n)),
      'timeout told',
      10_000,
    );
    await eventually(() => bridgingIs(roomId, '#refuse', 'failure'), 'm.room.bridging failure after the timeout');
    op.raw('PRIVMSG CwBot :yes');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
  });

  it('querylink leaves the relay bot in no channel it only looked at, and runs at most 3 queries per user at once', async () => {
    const botChannels = async (o: Observer) =>
      ((await o.whois('CwBot')).find((l) => / 319 /.test(l)) ?? '')
        .replace(/^.* 319 \S+ CwBot :/, '')
        .split(' ')
        .filter(Boolean);
    const looker = await observer('Looker');
    for (const ch of ['#look1', '#look2', '#look3']) {
      await observer(`Op${ch.slice(1)}`, ch);
      const q = await call('POST', '/querylink', { remote_room_server: NET, remote_room_channel: ch });
      assert.equal(q.status, 200, q.text);
      assert.deepEqual(q.body.operators, [`Op${ch.slice(1)}`]);
    }
    await eventually(async () => (await botChannels(looker)).every((c) => !/#look/.test(c)), 'the bot left the channels it looked at');

    // Queries the server holds up (an invite-only channel the bot cannot join) stay running until
    // they time out; a fourth from the same user meanwhile is refused.
    const holder = await observer('Holder', '#held');
    holder.raw('MODE #held +i');
    await holder.waitFor((l) => / MODE #held :?\+i/.test(l));
    const held = [1, 2, 3].map(() => call('POST', '/querylink', { remote_room_server: NET, remote_room_channel: '#held' }));
    const running = () => (b.connector().networks.get(NET) as unknown as { querying: Map<string, number> }).querying.get('#held');
    await eventually(() => running() === 3, 'the three queries running (they take 10 s to time out)');
    const fourth = await call('POST', '/querylink', { remote_room_server: NET, remote_room_channel: '#look1' });
    assert.equal(fourth.status, 429, fourth.text);
    assert.equal(fourth.body.errcode, 'M_LIMIT_EXCEEDED');
    const bobs = await call('POST', '/querylink', { remote_room_server: NET, remote_room_channel: '#look1' }, SECRET, bob.userId);
    assert.equal(bobs.status, 200, `another user is not held up: ${bobs.text}`);
    for (const r of await Promise.all(held)) assert.equal(r.body.errcode, 'IRC_UNKNOWN_CHANNEL', r.text);
    const after = await call('POST', '/querylink', { remote_room_server: NET, remote_room_channel: '#look2' });
    assert.equal(after.status, 200, `queries count only while they run: ${after.text}`);
    await eventually(async () => (await botChannels(looker)).every((c) => !/#look|#held/.test(c)), 'the bot is in none of them');
  });
});
