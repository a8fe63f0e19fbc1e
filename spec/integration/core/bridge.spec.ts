import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MemoryConnector } from '@causeway/testing/bridge';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { asString, roomWithBot } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';

const SEND = 'PUT /rooms/{roomId}/send/{eventType}/{txnId}';
const joins = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([k]) => /^POST \/(join\/|rooms\/\{roomId\}\/join)/.test(k))
    .reduce((n, [, v]) => n + v, 0);

describe('bridge-core: a bridge through the homeserver emulator', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;

  beforeEach(async () => {
    fx = await startBridgeFixture({ connector: () => (connector = new MemoryConnector()), configKey: 'mem' });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
  });
  afterEach(async () => {
    await fx.stop();
  });

  /** Alice joins a portal by alias; the bridge creates it on the alias query. */
  async function portal(channel = 'general'): Promise<string> {
    const roomId = await alice.join(`#_mem_mem_${channel}:localhost`);
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal record');
    // Let the join's own transaction settle so request counts below measure only what the test does.
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    return roomId;
  }

  it('passes the registration round trip: the homeserver pings the bridge with the generated hs_token', async () => {
    const res = await fx.bridge.intents.bot.ping(fx.registration.id, 'txn-ping-1');
    assert.ok(typeof res.duration_ms === 'number');
  });

  it('creates a portal room on an alias query and relays a Matrix message once', async () => {
    const roomId = await portal();
    assert.equal(fx.hs.resolveAlias('#_mem_mem_general:localhost'), roomId);
    const eventId = await alice.sendMessage(roomId, 'hello remote');
    await eventually(() => connector.messages().length === 1, 'message delivered');
    const m = connector.messages()[0];
    assert.equal(m.event.eventId, eventId);
    assert.equal(m.event.content.body, 'hello remote');
    assert.equal(m.event.sender.displayName, 'Alice');
    assert.deepEqual(m.event.portal.key, { network: 'mem', id: 'general' });
  });

  it("relays nothing from a user the bridge is not for (by default another homeserver's), and tells them once", async () => {
    const roomId = await portal();
    const room = fx.hs.rooms.get(roomId)!;
    const mallory = '@mallory:elsewhere.example';
    // As if federated in: the emulator has no federation, so the events are put straight into the room.
    fx.hs.rooms.send(room, { sender: mallory, type: 'm.room.member', state_key: mallory, content: { membership: 'join' } });
    for (const body of ['from afar 1', 'from afar 2']) {
      fx.hs.rooms.send(room, { sender: mallory, type: 'm.room.message', content: { msgtype: 'm.text', body } });
    }
    await alice.sendMessage(roomId, 'local');
    await eventually(() => connector.messages().length === 1, 'the local message');
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    assert.deepEqual(
      connector.messages().map((m) => m.event.content.body),
      ['local'],
    );
    const told = fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.sender === fx.bridge.intents.bot.userId && String(e.content?.body).includes(mallory));
    assert.equal(told.length, 1);
    assert.match(String(told[0].content.body), /not bridged/);
  });

  it("bridges a redaction only from the author or a user with the room's redact level", async () => {
    const roomId = await portal();
    const original = await alice.sendMessage(roomId, 'mine');
    await eventually(() => connector.messages().length === 1, 'delivered');
    // Synapse hands an appservice a redaction from another server before it is checked (room v3+):
    // here one from a user the bridge is for (as a federated one would be with permissions.users
    // open to other servers) who has no power in the room, sent the way the homeserver would.
    const push = (txnId: string, sender: string, id: string) =>
      fetch(`${fx.asUrl}/_matrix/app/v1/transactions/${txnId}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${fx.registration.hs_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: [
            {
              type: 'm.room.redaction',
              room_id: roomId,
              sender,
              event_id: id,
              redacts: original,
              content: { redacts: original },
              origin_server_ts: Date.now(),
            },
          ],
        }),
      });
    assert.equal((await push('fed-redact', '@bob:localhost', '$fake1')).status, 200);
    await fx.bridge.idle();
    assert.equal(connector.delivered.filter((d) => d.kind === 'redaction').length, 0, 'not bridged');
    // The author may; so may a moderator, for someone else's message.
    await alice.redact(roomId, original);
    await eventually(() => connector.delivered.filter((d) => d.kind === 'redaction').length === 1, "the author's redaction bridged");
    const second = await alice.sendMessage(roomId, 'spam');
    await eventually(() => connector.messages().length === 2, 'delivered');
    const mod = await fx.hs.registerUser('mod');
    await mod.join(roomId);
    const pl = fx.hs.stateEvent(roomId, 'm.room.power_levels')!.content;
    await fx.bridge.intents.bot.sendState(roomId, 'm.room.power_levels', '', { ...pl, users: { ...pl.users, [mod.userId]: 50 } });
    await mod.redact(roomId, second);
    await eventually(() => connector.delivered.filter((d) => d.kind === 'redaction').length === 2, "the moderator's redaction bridged");
  });

  it('sends a reaction added again after its removal, and an edit back to an earlier text (no reused txnIds)', async () => {
    const roomId = await portal();
    const P = { network: 'mem', id: 'general' };
    const bob = { ghost: { network: 'mem', id: 'bob' } };
    await connector.ctx.remote.emit({ type: 'message', portal: P, sender: bob, id: 'm1', content: { kind: 'text', body: 'A' } });
    for (const step of ['add', 'remove', 'add'] as const) {
      if (step === 'add') await connector.ctx.remote.emit({ type: 'reaction', portal: P, sender: bob, targetId: 'm1', key: '👍' });
      else await connector.ctx.remote.emit({ type: 'reaction.remove', portal: P, sender: bob, targetId: 'm1', key: '👍' });
    }
    const reactions = fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.reaction');
    assert.equal(reactions.length, 2, 'the second add is a new event');
    const redacted = new Set(
      fx.hs
        .roomTimeline(roomId)
        .filter((e) => e.type === 'm.room.redaction')
        .map((e) => e.redacts ?? e.content.redacts),
    );
    assert.deepEqual(
      reactions.map((r) => redacted.has(r.event_id)),
      [true, false],
      'the reaction shows',
    );
    // Edits without remote IDs: B → C → B leaves the message reading B.
    for (const body of ['B', 'C', 'B'])
      await connector.ctx.remote.emit({ type: 'edit', portal: P, sender: bob, targetId: 'm1', content: { kind: 'text', body } });
    const edits = fx.hs.roomTimeline(roomId).filter((e) => e.content?.['m.relates_to']?.rel_type === 'm.replace');
    assert.deepEqual(
      edits.map((e) => e.content['m.new_content']?.body),
      ['B', 'C', 'B'],
    );
  });

  it('invites the Matrix user back into a DM they left when a new private message arrives, or opens a new one', async () => {
    const dm = (id: string, body: string) =>
      connector.ctx.remote.emit({
        type: 'message',
        portal: { network: 'mem', id: 'carl' },
        sender: { ghost: { network: 'mem', id: 'carl' }, displayName: 'Carl' },
        id,
        content: { kind: 'text', body },
        dmWith: alice.userId,
      });
    await dm('p1', 'hi alice');
    const [roomId] = (await fx.bridge.portals.getByKey({ network: 'mem', id: 'carl' })).map((p) => p.roomId);
    assert.equal(fx.hs.membership(roomId, alice.userId), 'invite');
    await alice.join(roomId);
    await alice.leave(roomId);
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    await dm('p2', 'are you there?');
    assert.equal(fx.hs.membership(roomId, alice.userId), 'invite', 'invited back');
    assert.deepEqual(
      fx.hs
        .roomTimeline(roomId)
        .filter((e) => e.type === 'm.room.message')
        .map((e) => e.content.body),
      ['hi alice', 'are you there?'],
    );
    // Both gone (the ghost left as well): a new DM room, so the message is still seen.
    await fx.bridge.intents.ghost(fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.message')!.sender).leave(roomId);
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    await dm('p3', 'new room?');
    const rooms = (await fx.bridge.portals.getByKey({ network: 'mem', id: 'carl' })).map((p) => p.roomId);
    assert.equal(rooms.length, 1);
    assert.notEqual(rooms[0], roomId);
    assert.equal(fx.hs.membership(rooms[0], alice.userId), 'invite');
    assert.deepEqual(
      fx.hs
        .roomTimeline(rooms[0])
        .filter((e) => e.type === 'm.room.message')
        .map((e) => e.content.body),
      ['new room?'],
    );
  });

  it('unbridges a room when encryption is turned on in it (the bridge cannot read it), and refuses to link an encrypted one', async () => {
    const roomId = await portal();
    const pl = fx.hs.stateEvent(roomId, 'm.room.power_levels')!.content;
    await fx.bridge.intents.bot.sendState(roomId, 'm.room.power_levels', '', { ...pl, users: { ...pl.users, [alice.userId]: 100 } });
    await alice.sendState(roomId, 'm.room.encryption', '', { algorithm: 'm.megolm.v1.aes-sha2' });
    const bot = fx.bridge.intents.bot.userId;
    await eventually(() => fx.hs.membership(roomId, bot) === 'leave', 'bot left');
    assert.equal(await fx.bridge.portals.getByRoom(roomId), undefined, 'no longer a portal');
    assert.ok(
      fx.hs.roomTimeline(roomId).some((e) => e.sender === bot && /cannot read encrypted messages/.test(String(e.content?.body))),
      'the room was told',
    );
    // Linking an encrypted room is refused with the reason.
    const secret = await alice.createRoom({
      preset: 'private_chat',
      invite: [bot],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    await assert.rejects(fx.bridge.portals.link(secret, { network: 'mem', id: 'secret' }), /encrypted/);
  });

  it('with drop_matrix_messages_after_s, does not send a message that arrives too late, and tells its sender', async () => {
    await fx.stop();
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: { bridge: { drop_matrix_messages_after_s: 60 } },
    });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
    const roomId = await portal();
    // As the homeserver delivers what it queued while the bridge was down: the events keep their time.
    const room = fx.hs.rooms.get(roomId)!;
    fx.hs.rooms.send(room, {
      sender: alice.userId,
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: 'from an hour ago' },
      ts: Date.now() - 3600_000,
    });
    await alice.sendMessage(roomId, 'just now');
    await eventually(() => connector.messages().length === 1, 'the recent message');
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    assert.deepEqual(
      connector.messages().map((m) => m.event.content.body),
      ['just now'],
    );
    await eventually(
      () => noticesTo(fx.hs, alice.userId, fx.bridge.intents.bot.userId).some((n) => /too late to be sent on/.test(n)),
      'the sender was told',
    );
  });

  it('creates portal and DM rooms as bridge.portal_rooms / dm_rooms say (m.federate, room version)', async () => {
    const create = (roomId: string) => fx.hs.stateEvent(roomId, 'm.room.create')!.content;
    const dm = () =>
      connector.ctx.remote.emit({
        type: 'message',
        portal: { network: 'mem', id: 'dora' },
        sender: { ghost: { network: 'mem', id: 'dora' }, displayName: 'Dora' },
        id: 'd1',
        content: { kind: 'text', body: 'psst' },
        dmWith: alice.userId,
      });
    const dmRoom = async () => (await fx.bridge.portals.getByKey({ network: 'mem', id: 'dora' }))[0].roomId;
    // Defaults: federating rooms of the homeserver's default version.
    assert.equal(create(await portal('open'))['m.federate'], true);
    await dm();
    assert.notEqual(create(await dmRoom())['m.federate'], false);
    const defaultVersion = create(await portal('open2')).room_version;

    await fx.stop();
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: { bridge: { portal_rooms: { federate: false, room_version: '9' }, dm_rooms: { federate: false } } },
    });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
    const local = create(await portal('local'));
    assert.equal(local['m.federate'], false);
    assert.equal(local.room_version, '9');
    assert.notEqual(defaultVersion, '9', 'the version is the configured one, not the default');
    await dm();
    assert.equal(create(await dmRoom())['m.federate'], false);
  });

  it("caches the state types the connector declares and the operator adds, kept current from transactions, with the core's own", async () => {
    await fx.stop();
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      // An operator list without the core's types: they are cached all the same.
      core: { state_cache: { event_types: ['org.example.extra'] } },
    });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
    const roomId = await portal();
    const pl = fx.hs.stateEvent(roomId, 'm.room.power_levels')!.content;
    await fx.bridge.intents.bot.sendState(roomId, 'm.room.power_levels', '', { ...pl, users: { ...pl.users, [alice.userId]: 50 } });
    await alice.sendState(roomId, 'org.example.mem.settings', '', { colour: 'blue' });
    await alice.sendState(roomId, 'org.example.extra', '', { n: 1 });
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    const requests = fx.hs.requestCount();
    assert.deepEqual(await connector.ctx.portals.roomState(roomId, 'org.example.mem.settings'), { colour: 'blue' });
    assert.deepEqual(await connector.ctx.portals.roomState(roomId, 'org.example.extra'), { n: 1 });
    assert.deepEqual(await connector.ctx.portals.joinedMatrixUsers(roomId), [alice.userId], "the core's member list still works");
    await alice.sendState(roomId, 'org.example.mem.settings', '', { colour: 'red' });
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    assert.deepEqual(
      await connector.ctx.portals.roomState(roomId, 'org.example.mem.settings'),
      { colour: 'red' },
      'updated from the transaction',
    );
    assert.equal(fx.hs.requestCount(), requests, 'served from the cache, no homeserver request');
    await assert.rejects(connector.ctx.portals.roomState(roomId, 'org.example.undeclared'), /not a cached event type/);
  });

  it('relays a transaction once when the homeserver retries it after a lost response', async () => {
    const roomId = await portal();
    await fx.hs.pusher.waitForIdle();
    fx.hs.pusher.loseNextResponse(fx.registration.id, 2);
    for (let i = 0; i < 5; i++) await alice.sendMessage(roomId, `m${i}`);
    await fx.hs.pusher.waitForIdle(10_000);
    await fx.bridge.idle();
    assert.deepEqual(
      connector.messages().map((m) => m.event.content.body),
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    );
  });

  it('never relays its own ghosts back (loop prevention)', async () => {
    const roomId = await portal();
    await connector.ctx.remote.emit({
      type: 'message',
      portal: { network: 'mem', id: 'general' },
      sender: { ghost: { network: 'mem', id: 'bob' }, displayName: 'Bob' },
      id: 'x1',
      content: { kind: 'text', body: 'from remote' },
    });
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    assert.equal(connector.messages().length, 0);
    const timeline = fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message');
    assert.equal(timeline.length, 1);
    assert.equal(timeline[0].sender, '@_mem_mem_bob:localhost');
    assert.equal(fx.hs.profile('@_mem_mem_bob:localhost')?.displayname, 'Bob');
    // The echo was acknowledged without a journal write; the room's other events (joins) were journaled.
    const dir = path.join(fx.dataDir, 'journal');
    const journal = readdirSync(dir).map((f) => readFileSync(path.join(dir, f)));
    assert.ok(
      journal.some((b) => b.includes(roomId)),
      "the room's other events are in the journal",
    );
    assert.ok(!journal.some((b) => b.includes(timeline[0].event_id)), 'the echo is not');
  });

  it('registers and joins a ghost once across 100 messages: one request per message after that', async () => {
    const roomId = await portal();
    fx.hs.resetCounters();
    for (let i = 0; i < 100; i++) {
      await connector.ctx.remote.emit({
        type: 'message',
        portal: { network: 'mem', id: 'general' },
        sender: { ghost: { network: 'mem', id: 'carol' } },
        id: `c${i}`,
        content: { kind: 'text', body: `line ${i}` },
      });
    }
    const counts = fx.hs.requestCounts();
    assert.equal(counts['POST /register'], 1, JSON.stringify(counts));
    assert.equal(joins(counts), 1, JSON.stringify(counts));
    assert.equal(counts[SEND], 100);
    assert.equal(fx.hs.requestCount(), 102, JSON.stringify(counts));
    const bodies = fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.type === 'm.room.message')
      .map((e) => e.content.body);
    assert.deepEqual(
      bodies,
      Array.from({ length: 100 }, (_, i) => `line ${i}`),
    );
  });

  it('costs exactly one request per message with 8 concurrent senders once ghosts exist', async () => {
    const rooms = await Promise.all(Array.from({ length: 8 }, (_, i) => portal(`room${i}`)));
    // First contact: 8 rooms at once for one new ghost → one registration, one join per room.
    fx.hs.resetCounters();
    await Promise.all(
      rooms.map((_, i) =>
        connector.ctx.remote.emit({
          type: 'message',
          portal: { network: 'mem', id: `room${i}` },
          sender: { ghost: { network: 'mem', id: 'dave' } },
          id: `first${i}`,
          content: { kind: 'text', body: 'hi' },
        }),
      ),
    );
    let counts = fx.hs.requestCounts();
    assert.equal(counts['POST /register'], 1, JSON.stringify(counts));
    assert.equal(joins(counts), 8, JSON.stringify(counts));
    // Steady state: 8 senders × 25 messages → 200 requests, all sends.
    fx.hs.resetCounters();
    await Promise.all(
      rooms.map((_, i) =>
        (async () => {
          for (let n = 0; n < 25; n++) {
            await connector.ctx.remote.emit({
              type: 'message',
              portal: { network: 'mem', id: `room${i}` },
              sender: { ghost: { network: 'mem', id: 'dave' } },
              id: `s${i}-${n}`,
              content: { kind: 'text', body: `m${n}` },
            });
          }
        })(),
      ),
    );
    counts = fx.hs.requestCounts();
    assert.equal(fx.hs.requestCount(), 200, JSON.stringify(counts));
    assert.equal(counts[SEND], 200);
  });

  it('survives 429s and 5xx on sends without losing or duplicating a message', async () => {
    const roomId = await portal();
    await connector.ctx.remote.emit({
      type: 'message',
      portal: { network: 'mem', id: 'general' },
      sender: { ghost: { network: 'mem', id: 'erin' } },
      id: 'warm',
      content: { kind: 'text', body: 'warm' },
    });
    // Within the client's retry budget (matrix_client.max_retries, default 5) per request.
    fx.hs.faults.rateLimit(SEND, { times: 2, retryAfterMs: 50 });
    fx.hs.faults.serverError(SEND, { times: 2, status: 502 });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        connector.ctx.remote.emit({
          type: 'message',
          portal: { network: 'mem', id: 'general' },
          sender: { ghost: { network: 'mem', id: 'erin' } },
          id: `e${i}`,
          content: { kind: 'text', body: `e${i}` },
        }),
      ),
    );
    const bodies = fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.type === 'm.room.message')
      .map((e) => e.content.body);
    assert.deepEqual(bodies, ['warm', ...Array.from({ length: 10 }, (_, i) => `e${i}`)]);
  });

  it('maps replies, edits, reactions and redactions both ways through the message map', async () => {
    const roomId = await portal();
    const original = await alice.sendMessage(roomId, 'question?');
    await eventually(() => connector.messages().length === 1, 'original delivered');
    const remoteId = connector.messages()[0].remoteId;
    // Remote reply and reaction to Alice's message land as Matrix relations to her event.
    await connector.ctx.remote.emit({
      type: 'message',
      portal: { network: 'mem', id: 'general' },
      sender: { ghost: { network: 'mem', id: 'bob' } },
      id: 'b1',
      replyTo: remoteId,
      content: { kind: 'text', body: 'answer' },
    });
    await connector.ctx.remote.emit({
      type: 'reaction',
      portal: { network: 'mem', id: 'general' },
      sender: { ghost: { network: 'mem', id: 'bob' } },
      targetId: remoteId,
      key: '👍',
    });
    const timeline = fx.hs.roomTimeline(roomId);
    const reply = timeline.find((e) => e.type === 'm.room.message' && e.content.body === 'answer')!;
    assert.equal(reply.content['m.relates_to']?.['m.in_reply_to']?.event_id, original);
    const reaction = timeline.find((e) => e.type === 'm.reaction')!;
    assert.equal(reaction.content['m.relates_to']?.event_id, original);
    // Alice edits, replies to Bob, reacts and redacts: the connector sees remote IDs.
    await alice.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: '* question!',
      'm.new_content': { msgtype: 'm.text', body: 'question!' },
      'm.relates_to': { rel_type: 'm.replace', event_id: original },
    });
    await alice.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: '> <@bob> answer\n\nthanks',
      'm.relates_to': { 'm.in_reply_to': { event_id: reply.event_id } },
    });
    const myReaction = await alice.sendEvent(roomId, 'm.reaction', {
      'm.relates_to': { rel_type: 'm.annotation', event_id: reply.event_id, key: '🎉' },
    });
    await eventually(() => connector.delivered.some((d) => d.kind === 'reaction'), 'reaction delivered');
    await alice.redact(roomId, myReaction);
    await alice.redact(roomId, original);
    await eventually(
      () => connector.delivered.filter((d) => d.kind === 'redaction' || d.kind === 'reaction.remove').length === 2,
      'redactions delivered',
    );
    const edit = connector.delivered.find((d) => d.kind === 'edit');
    assert.ok(edit && edit.kind === 'edit');
    assert.equal(edit.event.target.remoteId, remoteId);
    assert.equal(edit.event.content.body, 'question!');
    const thanks = connector.messages().find((m) => m.event.content.body === 'thanks');
    assert.ok(thanks, 'reply fallback stripped');
    assert.equal(thanks.event.replyTo?.remoteId, 'b1');
    const removal = connector.delivered.find((d) => d.kind === 'reaction.remove');
    assert.ok(removal && removal.kind === 'reaction.remove');
    assert.equal(removal.event.key, '🎉');
    assert.equal(removal.event.target.remoteId, 'b1');
    const redaction = connector.delivered.find((d) => d.kind === 'redaction');
    assert.ok(redaction && redaction.kind === 'redaction');
    assert.equal(redaction.event.target.remoteId, remoteId);
  });

  it("diffs a second edit against the first edit's text, and replies quote the edited text", async () => {
    const roomId = await portal();
    const original = await alice.sendMessage(roomId, 'the build is broken');
    await eventually(() => connector.messages().some((m) => m.event.eventId === original), 'original delivered');
    const edit = (body: string) =>
      alice.sendEvent(roomId, 'm.room.message', {
        msgtype: 'm.text',
        body: `* ${body}`,
        'm.new_content': { msgtype: 'm.text', body },
        'm.relates_to': { rel_type: 'm.replace', event_id: original },
      });
    const edits = () => connector.delivered.filter((d) => d.kind === 'edit' && d.event.target.eventId === original);
    await edit('the build is fixed');
    await eventually(() => edits().length === 1, 'first edit delivered');
    await edit('the build is green');
    await eventually(() => edits().length === 2, 'second edit delivered');
    const [first, second] = edits().map((d) => (d.kind === 'edit' ? d.event : undefined)!);
    assert.equal(first.previousBody, 'the build is broken');
    assert.equal(second.previousBody, 'the build is fixed');
    const reply = await alice.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: 'great',
      'm.relates_to': { 'm.in_reply_to': { event_id: original } },
    });
    const delivered = await eventually(() => connector.messages().find((m) => m.event.eventId === reply), 'reply delivered');
    assert.equal(delivered.event.replyTo?.body, 'the build is green');
  });

  it('ignores malformed events without failing the transaction or blocking the room', async () => {
    const roomId = await portal();
    await alice.sendEvent(roomId, 'm.room.message', { msgtype: 'm.text', body: 42 });
    await alice.sendEvent(roomId, 'm.room.message', { msgtype: 'm.text' });
    await alice.sendEvent(roomId, 'm.reaction', { 'm.relates_to': 'not an object' });
    await alice.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: 'x',
      'm.relates_to': { rel_type: 'm.replace', event_id: 5 },
    });
    await alice.sendEvent(roomId, 'org.example.custom', { anything: [1, 2, 3] });
    await alice.sendMessage(roomId, 'still here');
    await eventually(() => connector.messages().length === 1, 'the good message');
    assert.equal(connector.messages()[0].event.content.body, 'still here');
  });

  it('tells the sender when the network refuses a message instead of dropping it silently', async () => {
    const roomId = await portal();
    connector.rejectNext = 'The channel is moderated (+m).';
    await alice.sendMessage(roomId, 'are you there?');
    const notice = await eventually(() => fx.hs.roomTimeline(roomId).find((e) => e.content?.msgtype === 'm.notice'), 'notice');
    assert.match(asString(notice.content.body, 'notice body'), /@alice:localhost: The channel is moderated/);
  });

  it('gives up at once on an invite the bot can no longer accept (the room is gone), instead of retrying it', async () => {
    fx.hs.resetCounters();
    const invite = {
      type: 'm.room.member',
      room_id: '!gone:localhost',
      sender: alice.userId,
      state_key: '@_mem_bot:localhost',
      event_id: '$gone-invite',
      origin_server_ts: Date.now(),
      content: { membership: 'invite' },
    };
    const res = await fetch(`${fx.asUrl}/_matrix/app/v1/transactions/gone1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${fx.registration.hs_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [invite] }),
    });
    assert.equal(res.status, 200);
    await fx.bridge.idle();
    assert.equal(joins(fx.hs.requestCounts()), 1, JSON.stringify(fx.hs.requestCounts()));
  });

  it('answers !help in an admin room opened by a DM invite to the bot', async () => {
    const roomId = await alice.createRoom({ is_direct: true, invite: ['@_mem_bot:localhost'], preset: 'trusted_private_chat' });
    await eventually(() => fx.hs.membership(roomId, '@_mem_bot:localhost') === 'join', 'bot joined');
    await alice.sendMessage(roomId, '!help');
    const reply = await eventually(
      () => fx.hs.roomTimeline(roomId).find((e) => e.sender === '@_mem_bot:localhost' && /help/.test(e.content?.body ?? '')),
      'help reply',
    );
    assert.match(asString(reply.content.body, 'reply body'), /!help/);
  });

  it('resumes after a restart without re-registering or re-joining ghosts', async () => {
    const roomId = await portal();
    await connector.ctx.remote.emit({
      type: 'message',
      portal: { network: 'mem', id: 'general' },
      sender: { ghost: { network: 'mem', id: 'fay' } },
      id: 'f1',
      content: { kind: 'text', body: 'one' },
    });
    fx.hs.resetCounters();
    await fx.restart();
    // The start-up round trip (appservice ping) is the only call a restart makes on its own.
    await eventually(() => fx.hs.requestCount('POST /appservice/{appserviceId}/ping') === 1, 'start-up ping');
    assert.equal(fx.hs.requestCount(), 1, JSON.stringify(fx.hs.requestCounts()));
    fx.hs.resetCounters();
    await connector.ctx.remote.emit({
      type: 'message',
      portal: { network: 'mem', id: 'general' },
      sender: { ghost: { network: 'mem', id: 'fay' } },
      id: 'f2',
      content: { kind: 'text', body: 'two' },
    });
    assert.equal(fx.hs.requestCount(), 1, JSON.stringify(fx.hs.requestCounts()));
    await alice.sendMessage(roomId, 'after restart');
    await eventually(() => connector.messages().some((m) => m.event.content.body === 'after restart'), 'delivered after restart');
  });

  describe('bridge-info state (MSC2346) in portal rooms', () => {
    const BOT = '@_mem_bot:localhost';
    const TYPES = ['m.bridge', 'uk.half-shot.bridge'];
    const protocol = { id: 'mem', displayname: 'Memory' };
    const network = { id: 'mem', displayname: 'Memory network mem' };
    /** Every bridge-info event in the room, as a client would read them from its state. */
    const bridgeInfo = (roomId: string) => fx.hs.roomState(roomId).filter((e) => TYPES.includes(e.type));
    /** A room Alice owns with the bot invited; `botPower` lets the bot send state, as a room admin would. */
    const plumbableRoom = (botPower?: number) => roomWithBot(fx.hs, alice, BOT, botPower);

    it('puts m.bridge and uk.half-shot.bridge, sent by the bot, into a portal room created for an alias', async () => {
      const roomId = await portal('general');
      const events = bridgeInfo(roomId);
      assert.deepEqual(events.map((e) => e.type).sort(), [...TYPES].sort());
      for (const e of events) {
        assert.equal(e.sender, BOT);
        assert.equal(e.state_key, 'mem/mem/general');
        assert.deepEqual(e.content, {
          bridgebot: BOT,
          protocol,
          network,
          channel: { id: 'general', displayname: '#general', external_url: 'https://mem.example/mem/general' },
        });
      }
    });

    it('without display data from the connector still names the protocol, network and channel by ID', async () => {
      connector.describePortals = false;
      const roomId = await portal('plain');
      for (const e of bridgeInfo(roomId)) {
        assert.deepEqual(e.content, { bridgebot: BOT, protocol, network: { id: 'mem', displayname: 'mem' }, channel: { id: 'plain' } });
      }
      assert.equal(bridgeInfo(roomId).length, 2);
    });

    it('marks a room linked through the core (with "/" escaped in the key) and blanks it when unlinked', async () => {
      const roomId = await plumbableRoom(50);
      await connector.ctx.portals.link(roomId, { network: 'mem', id: 'team/general' }, { actor: alice.userId });
      const key = 'mem/mem/team%2Fgeneral';
      const linked = bridgeInfo(roomId);
      assert.deepEqual(linked.map((e) => e.type).sort(), [...TYPES].sort());
      for (const e of linked) {
        assert.equal(e.sender, BOT);
        assert.equal(e.state_key, key);
        assert.deepEqual(e.content, {
          bridgebot: BOT,
          creator: alice.userId,
          protocol,
          network,
          channel: { id: 'team/general', displayname: '#team/general', external_url: 'https://mem.example/mem/team%2Fgeneral' },
        });
      }
      assert.equal(await connector.ctx.portals.unlink(roomId, { actor: alice.userId }), true);
      const unlinked = bridgeInfo(roomId);
      assert.deepEqual(unlinked.map((e) => [e.type, e.state_key, e.content]).sort(), TYPES.map((t) => [t, key, {}]).sort());
    });

    it('still links a room where the bot has no power to send state; only the bridge info is missing', async () => {
      const roomId = await plumbableRoom();
      const portal = await connector.ctx.portals.link(roomId, { network: 'mem', id: 'powerless' }, { actor: alice.userId });
      assert.equal(portal.kind, 'plumbed');
      assert.deepEqual(bridgeInfo(roomId), []);
      await alice.sendMessage(roomId, 'bridged anyway');
      await eventually(() => connector.messages().some((m) => m.event.content.body === 'bridged anyway'), 'message relayed');
    });
  });
});

/** Bodies of the bot's notices in a user's private rooms with it (admin rooms). */
function noticesTo(hs: BridgeFixture<unknown>['hs'], userId: string, bot: string): string[] {
  return hs.rooms.allRoomIds().flatMap((id) => {
    const room = hs.rooms.get(id)!;
    if (!room.members.has(userId) || room.members.size > 2) return [];
    return hs
      .roomTimeline(id)
      .filter((e) => e.sender === bot && e.content?.msgtype === 'm.notice')
      .map((e) => String(e.content.body));
  });
}
