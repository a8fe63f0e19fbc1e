/**
 * Per-room settings (irc.per_room_config, MAI's perRoomConfig): a room's moderators set
 * `lineLimit` and `allowUnconnectedMatrixUsers` in an `org.matrix.appservice-irc.config` state
 * event, within the limits the operator allows; rooms set up for MAI keep their settings.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, type IrcBridge } from './support';

describe('irc-bridge: per-room settings (org.matrix.appservice-irc.config)', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let olive: Observer;
  let alice: TestUser;
  let roomId: string;

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(
      ircd,
      {
        excluded_users: ['^@bob:'],
        membership: { irc_to_matrix: { require_matrix_joined: true } },
        clients: { line_limit: 3 },
      },
      { irc: { per_room_config: { enabled: true, line_limit_max: 5 } } },
    );
    olive = await connectObserver(ircd, 'olive');
    await olive.join('#rc');
    alice = await b.fx.hs.registerUser('alice', { displayname: 'alice' });
    roomId = await alice.join(alias('#rc'));
    await olive.waitFor((l) => /:alice\[m\]!\S+ JOIN :?#rc\b/i.test(l), 15_000);
    // The bot (room admin) makes alice a moderator, who may then set the room's config.
    const bot = b.fx.bridge.intents.bot;
    const pl = b.fx.hs.stateEvent(roomId, 'm.room.power_levels')!.content;
    await bot.sendState(roomId, 'm.room.power_levels', '', { ...pl, users: { ...pl.users, [alice.userId]: 50 } });
  });
  after(async () => {
    await olive?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  const setConfig = async (content: Record<string, unknown>) => {
    await alice.sendState(roomId, 'org.matrix.appservice-irc.config', '', content);
    await b.fx.hs.pusher.waitForIdle();
    await b.fx.bridge.idle();
  };
  /** Sends `n` lines as one Matrix message; resolves with what IRC saw of it. */
  const multiLine = async (tag: string, n: number) => {
    const from = olive.lines.length;
    const lines = Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`);
    await alice.sendMessage(roomId, lines.join('\n'));
    await olive.waitFor((l) => new RegExp(`PRIVMSG #rc :${tag} line 1`).test(l), 15_000, from);
    await new Promise((r) => setTimeout(r, 500)); // the rest of the lines, if any
    return olive.lines
      .slice(from)
      .filter((l) => / PRIVMSG #rc :/.test(l))
      .map((l) => l.slice(l.indexOf(' PRIVMSG #rc :') + 14));
  };

  it('lineLimit raises the lines a message may become, up to line_limit_max; junk is ignored', async () => {
    assert.equal((await multiLine('a', 4)).length, 1, "over the network's limit of 3: one line with a link or a truncation");
    await setConfig({ lineLimit: 4 });
    assert.deepEqual(await multiLine('b', 4), ['b line 1', 'b line 2', 'b line 3', 'b line 4']);
    await setConfig({ lineLimit: 50 });
    assert.equal((await multiLine('c', 6)).length, 1, 'capped at line_limit_max 5');
    await setConfig({ lineLimit: 'lots' });
    assert.equal((await multiLine('d', 4)).length, 1, "a lineLimit that is not a number leaves the network's");
  });

  it('allowUnconnectedMatrixUsers lets lines through the privacy filter for this room', async () => {
    const bob = await b.fx.hs.registerUser('bob');
    await bob.join(roomId);
    olive.raw('PRIVMSG #rc :held back');
    await new Promise((r) => setTimeout(r, 1000));
    await setConfig({ allowUnconnectedMatrixUsers: true });
    olive.raw('PRIVMSG #rc :let through');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('olive')).some((e) => e.content.body === 'let through'), 'the line crosses');
    assert.ok(
      !messages(b.fx.hs, roomId, ghostId('olive')).some((e) => e.content.body === 'held back'),
      'before the setting, the filter held',
    );
  });
});
