/**
 * The privacy filter (membership.irc_to_matrix.require_matrix_joined, MAI's requireMatrixJoined):
 * a channel's lines reach Matrix only while every Matrix member of the room is on the channel, and,
 * unlike MAI, the room is told why it went quiet and how much it missed.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, BOT, type IrcBridge } from './support';

describe('irc-bridge: privacy filter', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  const observers: Observer[] = [];
  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, {
      // bob is never connected to IRC, so while he is in the room he reads the channel unseen.
      excluded_users: ['^@bob:'],
      membership: { irc_to_matrix: { require_matrix_joined: true } },
    });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    await ircd?.dispose();
  });

  const bodies = (roomId: string, sender: string) => messages(b.fx.hs, roomId, sender).map((e) => String(e.content.body));
  const notices = (roomId: string) => messages(b.fx.hs, roomId, BOT).map((e) => String(e.content.body));

  it('withholds lines while a Matrix member is not on the channel, tells the room who, and how many it missed', async () => {
    const hs = b.fx.hs;
    const alice = await hs.registerUser('alice');
    const bob = await hs.registerUser('bob');
    const olive = await connectObserver(ircd, 'olive');
    observers.push(olive);
    await olive.join('#priv');
    const say = (text: string) => olive.raw(`PRIVMSG #priv :${text}`);
    const roomId = await alice.join(alias('#priv'));
    // alice is connected and joins the channel as she joins the room (matrix_to_irc.incremental).
    await olive.waitFor((l) => /:alice\[m\]!\S+ JOIN :?#priv\b/i.test(l), 15_000);
    say('everyone here is on IRC');
    await eventually(
      () => bodies(roomId, ghostId('olive')).includes('everyone here is on IRC'),
      'a line crosses while all members are on IRC',
    );

    await bob.join(roomId);
    await eventually(() => hs.membership(roomId, bob.userId) === 'join', 'bob joined');
    say('secret one');
    say('secret two');
    // After a grace period (longer than a joining member takes to appear on IRC), the room is told.
    await eventually(
      () => notices(roomId).some((t) => t.includes('not bridged while') && t.includes('@bob:localhost')),
      'the room is told that lines are withheld, naming bob',
      20_000,
    );
    assert.ok(!notices(roomId).some((t) => t.includes('@alice:localhost')), 'alice is on the channel: not named');

    await bob.leave(roomId);
    await eventually(() => hs.membership(roomId, bob.userId) === 'leave', 'bob left');
    say('bob is gone');
    await eventually(() => bodies(roomId, ghostId('olive')).includes('bob is gone'), 'lines cross again once bob left');
    const got = bodies(roomId, ghostId('olive'));
    assert.ok(!got.some((t) => t.startsWith('secret')), `withheld lines are never delivered: ${got.join(' | ')}`);
    assert.deepEqual(got, ['everyone here is on IRC', 'bob is gone']);
    await eventually(
      () => notices(roomId).some((t) => t.includes('bridged again') && t.includes('2 messages from it were not bridged')),
      'the room is told how many it missed',
    );
    assert.equal(notices(roomId).filter((t) => t.includes('not bridged while these members')).length, 1, 'told once, not per line');

    const metrics = await b.fx.bridge.metrics.metrics();
    assert.match(metrics, /causeway_irc_privacy_withheld_lines_total\{[^}]*network="testnet"[^}]*\} 2/);
  });
});
