/**
 * Linking rooms to Slack channels: the admin-room `link`/`unlink`/`list` commands and the core's
 * provisioning API, with the same checks as IRC links (room moderators or bridge admins on the
 * Matrix side; on the Slack side, only channels the app was invited to unless a bridge admin asks).
 */
import { strict as assert } from 'node:assert';
import { httpCall, type TestUser } from '@causeway/testing';
import { startSlackBridge, messages, ghostId, eventually, BOT, WS, type SlackBridge } from './support';

const SECRET = 'slack-provisioning-secret-0123456789abcdef';

describe('slack-bridge: linking (commands and provisioning)', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let admin: TestUser;
  let adminRoom: string;
  let dave: TestUser;
  let daveAdmin: string;

  const command = async (user: TestUser, room: string, text: string) => {
    const before = botMessages(room).length;
    await user.sendMessage(room, text);
    return eventually(() => botMessages(room)[before], `reply to ${text}`, 20_000);
  };
  const botMessages = (room: string) =>
    b.fx.hs
      .roomTimeline(room)
      .filter((e) => e.sender === BOT && e.type === 'm.room.message')
      .map((e) => String(e.content.body));
  const call = (method: string, path: string, user: string, body?: unknown, token: string | null = SECRET) =>
    httpCall(b.fx.asUrl, method, `/_matrix/provision${path}?user_id=${encodeURIComponent(user)}`, { token, body });

  before(async () => {
    b = await startSlackBridge('socket', { core: { provisioning: { enabled: true, secret: SECRET } } });
    admin = await b.fx.hs.registerUser('admin', { displayname: 'Admin' });
    dave = await b.fx.hs.registerUser('dave', { displayname: 'Dave' });
    adminRoom = await admin.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    daveAdmin = await dave.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(
      () => b.fx.hs.membership(adminRoom, BOT) === 'join' && b.fx.hs.membership(daveAdmin, BOT) === 'join',
      'bot in the admin rooms',
    );
    // The bot greets in a new admin room first.
    await eventually(() => botMessages(adminRoom).length > 0 && botMessages(daveAdmin).length > 0, 'admin room greetings');
  });
  after(async () => {
    await b?.stop();
  });

  it('link, list and unlink from the admin room; messages cross only while linked', async () => {
    const room = await admin.createRoom({ preset: 'public_chat', invite: [BOT] });
    assert.match(await command(admin, adminRoom, `!link ${room} ${WS} ${b.general.id}`), /^Linked /);
    assert.match(
      await command(admin, adminRoom, '!list'),
      new RegExp(`${room.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ↔ ${b.general.id} in ${WS}`),
    );
    b.alice.post(b.general, 'while linked');
    await eventually(
      () => messages(b, room, ghostId(b.alice.id)).find((e) => e.content.body === 'while linked'),
      'message in the linked room',
    );
    assert.match(await command(admin, adminRoom, `!unlink ${room}`), /^Unlinked /);
    b.alice.post(b.general, 'after unlink');
    b.alice.post(b.general, 'marker');
    await b.slack.waitForDeliveries(b.app);
    await b.connector().idle();
    assert.ok(!messages(b, room).some((e) => e.content.body === 'after unlink'));
  });

  it('a user who does not moderate the room may not link it; nobody but admins may link a channel the app was not invited to', async () => {
    const adminsRoom = await admin.createRoom({ preset: 'public_chat', invite: [BOT] });
    await dave.join(adminsRoom);
    assert.match(await command(dave, daveAdmin, `!link ${adminsRoom} ${WS} ${b.general.id}`), /Only a bridge admin or a moderator/);
    const outside = b.slack.createChannel(b.team, { name: 'outside', members: [b.alice] });
    const davesRoom = await dave.createRoom({ preset: 'public_chat', invite: [BOT] });
    assert.match(await command(dave, daveAdmin, `!link ${davesRoom} ${WS} ${outside.id}`), /Invite the Slack app/);
    assert.equal(await b.fx.bridge.portals.getByRoom(davesRoom), undefined);
    // A bridge admin may: the bot joins the public channel itself.
    assert.match(await command(admin, adminRoom, `!link ${davesRoom} ${WS} ${outside.id}`), /^Linked /);
    assert.ok(b.slack.conversation(outside.id).members.has(b.botUserId));
  });

  it('provisioning: link needs power in the room, lists and unlinks; bad bodies and tokens are refused', async () => {
    const room = await dave.createRoom({ preset: 'public_chat', invite: [BOT] });
    const dev = b.slack.createChannel(b.team, { name: 'dev', members: [b.alice, b.botUserId] });
    assert.equal(
      (await call('POST', '/v1/link', dave.userId, { room_id: room, workspace: WS, channel_id: dev.id }, 'wrong')).body.errcode,
      'M_UNKNOWN_TOKEN',
    );
    assert.equal((await call('POST', '/v1/link', dave.userId, { room_id: room, workspace: WS, channel_id: 'not-a-channel' })).status, 400);
    const carol = await b.fx.hs.registerUser('carol');
    await carol.join(room);
    assert.equal((await call('POST', '/v1/link', carol.userId, { room_id: room, workspace: WS, channel_id: dev.id })).status, 403);
    const ok = await call('POST', '/v1/link', dave.userId, { room_id: room, workspace: WS, channel_id: dev.id });
    assert.equal(ok.status, 200, ok.text);
    const list = await call('GET', `/v1/links/${encodeURIComponent(room)}`, dave.userId);
    assert.deepEqual(list.body.links, [{ room_id: room, workspace: WS, channel_id: dev.id }]);
    b.alice.post(dev, 'provisioned');
    await eventually(() => messages(b, room).find((e) => e.content.body === 'provisioned'), 'message in the provisioned room');
    assert.equal((await call('POST', '/v1/unlink', dave.userId, { room_id: room })).status, 200);
    assert.equal(await b.fx.bridge.portals.getByRoom(room), undefined);
  });
});
