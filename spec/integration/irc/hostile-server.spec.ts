/**
 * What an IRC server (a faulty one, or anyone on a plaintext link) can send that used to end the
 * bridge process or bloat it: lines too short to parse, a JOIN of a channel the bridge cannot
 * name, a line that never ends, NUL bytes and formatting codes. Each is dropped or cleaned, the
 * connection stays, and the next ordinary line still reaches Matrix.
 */
import { strict as assert } from 'node:assert';
import { FakeIrcd } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, eventually, ghostId, messages, BOT, type IrcBridge } from './support';

const CH = '#hostile';

describe('irc-bridge: a hostile IRC server', function () {
  this.timeout(60_000);
  let fake: FakeIrcd;
  let b: IrcBridge;
  let alice: TestUser;
  let roomId: string;
  let seq = 0;

  const bodies = () => messages(b.fx.hs, roomId).map((e) => String(e.content.body));
  /** An ordinary channel line from an IRC user: it must still cross. */
  const stillRelays = async () => {
    const text = `ordinary line ${++seq}`;
    fake.send(`:zed!z@irc.test PRIVMSG ${CH} :${text}\r\n`);
    await eventually(() => bodies().includes(text), `"${text}" relayed`);
  };
  const dropped = async (reason: string) => {
    const m = new RegExp(`causeway_irc_dropped_lines_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(
      await b.fx.bridge.metrics.metrics(),
    );
    return m ? Number(m[1]) : 0;
  };

  before(async () => {
    fake = await FakeIrcd.start();
    b = await startIrcBridge(fake);
    alice = await b.fx.hs.registerUser('alice');
    roomId = await alice.join(alias(CH));
    await eventually(() => fake.client('CwBot')?.channels.has(CH), 'relay bot joined the channel');
    // Alice's own connection (she joined the room) arrives on its own time: wait for it, so the
    // specs below count connections that are all there.
    await eventually(() => fake.live.filter((c) => c.channels.has(CH)).length >= 2, "alice's connection on the channel");
    await stillRelays();
  });
  after(async () => {
    await b?.fx.stop();
    await fake?.close();
  });

  it('drops a PRIVMSG or NOTICE without parameters (and other too-short lines), counts them, keeps the connection', async () => {
    const connections = fake.clients.length;
    const before = await dropped('malformed');
    fake.send(':x!y@z PRIVMSG\r\n:x!y@z NOTICE\r\n:x!y@z KICK\r\n:x!y@z TOPIC\r\n');
    await stillRelays();
    // Each connection that parses the channel's lines counts them (a connection whose copies are
    // dropped before parsing, as a second hearer's are, counts none): at least one did all four.
    await eventually(async () => (await dropped('malformed')) >= before + 4, 'malformed lines counted');
    assert.equal(fake.clients.length, connections, 'no connection was lost or remade');
  });

  it('ignores a server-forced JOIN of a channel the bridge cannot name', async () => {
    const bot = fake.client('CwBot')!;
    bot.line(`:${bot.mask} JOIN #a:b`);
    bot.line(`:${bot.mask} JOIN #ctl\x07char`);
    bot.line(`:${bot.mask} JOIN :0`);
    await stillRelays();
    assert.ok(fake.client('CwBot'), 'the bot is still connected');
  });

  it('drops a line longer than IRC allows, however long it grows, without posting it', async () => {
    const before = await dropped('too_long');
    const bot = fake.client('CwBot')!;
    bot.write(`:zed!z@irc.test PRIVMSG ${CH} :`);
    const chunk = 'A'.repeat(64 * 1024);
    for (let i = 0; i < 64; i++) bot.write(chunk); // 4 MiB with no line end
    bot.write('\r\n');
    await stillRelays();
    await eventually(async () => (await dropped('too_long')) > before, 'over-long line counted');
    assert.ok(
      bodies().every((t) => t.length < 9000),
      "nothing near the dropped line's size was posted",
    );
    // A line just under the limit still crosses.
    const fits = `fits ${'B'.repeat(400)}`;
    fake.send(`@msgid=x${'y'.repeat(7000)} :zed!z@irc.test PRIVMSG ${CH} :${fits}\r\n`);
    await eventually(() => bodies().includes(fits), 'a long-tagged line under the limit crosses');
  });

  it('removes NUL from text before Matrix sees it', async () => {
    fake.send(`:zed!z@irc.test PRIVMSG ${CH} :nul\0between\r\n`);
    await eventually(() => bodies().includes('nulbetween'), 'line without its NUL');
    assert.ok(!bodies().some((t) => t.includes('\0')));
  });

  it('strips formatting codes from a topic; a setter whose ghost is not in the room does not join to set it', async () => {
    fake.send(`:yan!y@irc.test TOPIC ${CH} :\x02bold\x02 \x0304,01red\x03 \x1ditalic\x1d topic\r\n`);
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic === 'bold red italic topic', 'plain topic');
    assert.equal(b.fx.hs.stateEvent(roomId, 'm.room.topic')?.sender, BOT, 'set by the bridge bot');
    assert.equal(b.fx.hs.membership(roomId, ghostId('yan')), undefined, "the setter's ghost was not brought in");
  });
});
