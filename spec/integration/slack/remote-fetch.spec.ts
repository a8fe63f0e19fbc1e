/**
 * URLs that Slack users choose do not reach into the operator's network. The bridge's config
 * allow-lists 127.0.0.1 (the emulator, like a media host on the LAN); the "internal" host here
 * listens on 127.0.0.2, which stays refused, and must never see a request:
 * - a profile picture or a bot's icon_url there: the ghost posts without an avatar;
 * - a custom emoji image there: the emoji stays `:name:` text, in messages and as a reaction;
 * - a file shared from another service (url_private off Slack's hosts, even an allowed address):
 *   not fetched with the bot token; a notice names the file instead;
 * - url_private and upload_url on another origin than the workspace's api_url (here the API is
 *   reached as localhost, the emulator names 127.0.0.1): neither is contacted.
 */
import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@causeway/testing/bridge';
import { startSlackBridge, linkedRoom, ghostId, messages, eventually, BOT, type SlackBridge } from './support';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

interface Host {
  url: string;
  requests: http.IncomingMessage[];
  server: http.Server;
}

async function imageHost(address: string): Promise<Host> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  return { url: `http://${address}:${(server.address() as AddressInfo).port}`, requests, server };
}

describe('slack-bridge: URLs chosen on Slack stay out of private networks', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;
  let internal: Host;
  let foreign: Host;

  before(async () => {
    internal = await imageHost('127.0.0.2');
    foreign = await imageHost('127.0.0.1');
    b = await startSlackBridge('socket');
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.stop();
    internal?.server.close();
    foreign?.server.close();
  });

  it('a profile picture or bot icon on a private address is not fetched: the ghost posts without an avatar', async () => {
    const mallory = b.slack.createUser(b.team, { name: 'mallory', realName: 'Mallory', avatarUrl: `${internal.url}/me.png` });
    mallory.join(b.general);
    mallory.post(b.general, 'hello from mallory');
    const ev = await eventually(
      () => messages(b, roomId, ghostId(mallory.id)).find((e) => e.content.body === 'hello from mallory'),
      "mallory's message on Matrix",
    );
    assert.equal(b.fx.hs.profile(ev.sender)?.displayname, 'Mallory');
    assert.equal(b.fx.hs.profile(ev.sender)?.avatar_url, undefined);

    const other = b.slack.createApp({ name: 'Evilbot' });
    const { botToken, botUserId } = b.slack.install(other, b.team);
    b.alice.invite(b.general, botUserId);
    const res = await fetch(`${b.slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: b.general.id, text: 'metadata please', username: 'Evil', icon_url: `${internal.url}/icon.png` }),
    });
    assert.equal(((await res.json()) as { ok: boolean }).ok, true);
    const post = await eventually(() => messages(b, roomId).find((e) => e.content.body === 'metadata please'), 'bot post on Matrix');
    assert.equal(b.fx.hs.profile(post.sender)?.displayname, 'Evil');
    assert.equal(b.fx.hs.profile(post.sender)?.avatar_url, undefined);
    assert.deepEqual(
      internal.requests.map((r) => r.url),
      [],
    );
  });

  it('a custom emoji whose image is on a private address stays :name: text, in messages and as a reaction', async () => {
    b.slack.addCustomEmoji(b.team, 'sneaky', `${internal.url}/sneaky.png`);
    const m = b.alice.post(b.general, 'look :sneaky: here');
    const ev = await eventually(
      () => messages(b, roomId, ghostId(b.alice.id)).find((e) => String(e.content.body).startsWith('look')),
      'message with the emoji on Matrix',
    );
    assert.equal(ev.content.body, 'look :sneaky: here');
    assert.ok(!String(ev.content.formatted_body ?? '').includes('<img'), String(ev.content.formatted_body));
    b.bob.react(b.general, m.ts, 'sneaky');
    await eventually(
      () =>
        b.fx.hs
          .roomTimeline(roomId)
          .find((e) => e.type === 'm.reaction' && e.sender === ghostId(b.bob.id) && e.content['m.relates_to']?.key === ':sneaky:'),
      'the reaction as text on Matrix',
    );
    assert.deepEqual(
      internal.requests.map((r) => r.url),
      [],
    );
  });

  it('a file shared from another service is not fetched with the bot token: a notice names it', async () => {
    b.alice.upload(b.general, { name: 'plan.pdf', data: PNG, externalUrl: `${foreign.url}/plan.pdf` });
    await eventually(
      () => messages(b, roomId).find((e) => e.content.msgtype === 'm.notice' && String(e.content.body).includes('plan.pdf')),
      'a notice naming the file',
    );
    assert.equal(foreign.requests.length, 0);
  });
});

describe('slack-bridge: file URLs off the workspace API origin are not contacted', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;

  before(async () => {
    // The bridge reaches the API as localhost; the emulator's file and upload URLs say 127.0.0.1.
    const port = await freePort();
    b = await startSlackBridge('socket', { emulator: { port }, workspace: { api_url: `http://localhost:${port}/api/` } });
    roomId = await linkedRoom(b);
  });
  after(() => b?.stop());

  it('a Slack file on another origin becomes a notice', async () => {
    b.alice.upload(b.general, { name: 'cat.png', data: PNG });
    await eventually(
      () => messages(b, roomId).find((e) => e.content.msgtype === 'm.notice' && String(e.content.body).includes('cat.png')),
      'a notice naming the file',
    );
  });

  it('a Matrix file is not posted to an upload_url on another origin', async () => {
    const mxc = await b.matrixAlice.upload(PNG, 'image/png', 'dog.png');
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.image',
      body: 'dog.png',
      url: mxc,
      info: { mimetype: 'image/png', size: PNG.length },
    });
    // The sender is told it did not go through, as for any send Slack does not take.
    await eventually(
      () => messages(b, roomId, BOT).find((e) => String(e.content.body).includes('Slack refused the message')),
      'the sender told',
    );
    assert.ok(b.slack.calls('files.getUploadURLExternal').length > 0);
    assert.equal(b.slack.calls('files.completeUploadExternal').length, 0);
    assert.deepEqual(
      b.slack.messages(b.general).filter((m) => m.files?.some((f) => b.slack.file(f).name === 'dog.png')),
      [],
    );
  });
});
