/**
 * Admin-room commands of the IRC bridge, typed by a Matrix user in their DM
 * with the bridge bot, checked on IRC by an observer and on disk.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, botMessages, eventually, alias, BOT, type IrcBridge } from './support';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('irc-bridge: admin-room commands', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let dave: TestUser;
  let adminRoom: string;
  let obs: Observer;

  /** Sends a command and waits for the bot's next reply. */
  const command = async (text: string): Promise<string> => {
    const before = botMessages(b.fx.hs, adminRoom).length;
    await dave.sendMessage(adminRoom, text);
    return eventually(() => botMessages(b.fx.hs, adminRoom)[before], `reply to ${text}`, 30_000);
  };

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd);
    dave = await b.fx.hs.registerUser('dave', { displayname: 'Dave' });
    adminRoom = await dave.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(adminRoom, BOT) === 'join', 'bot joined the admin room');
    obs = await connectObserver(ircd, 'Witness');
    await obs.join('#cmds');
  });
  after(async () => {
    await obs?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('!join finds or creates the portal, invites the user and joins the channel on IRC', async () => {
    const from = obs.lines.length;
    const reply = await command('!join #cmds');
    assert.match(reply, /Joining #cmds on testnet/);
    await obs.waitFor((l) => / :Dave\[m\]!\S+ JOIN :?#cmds/i.test(l) || /^:Dave\[m\]!\S+ JOIN/.test(l.replace(/^@\S+ /, '')), 20_000, from);
    const roomId = b.fx.hs.resolveAlias(alias('#cmds'));
    assert.ok(roomId, 'portal alias exists');
    await eventually(() => b.fx.hs.membership(roomId, '@dave:localhost') === 'invite', 'dave invited');
  });

  it('!nick changes the nick on IRC, and refuses a taken one without renaming silently', async () => {
    const from = obs.lines.length;
    assert.match(await command('!nick Davey'), /You are now Davey/);
    await obs.waitFor((l) => /dave\[m\]!\S+ NICK :?Davey/i.test(l), 10_000, from);
    const reply = await command('!nick Witness');
    assert.match(reply, /Your nick stays Davey/);
    assert.match(await command('!nick'), /Your nick on testnet is Davey/);
  });

  it('!cmd sends a validated raw command and refuses denied ones', async () => {
    assert.match(await command('!cmd QUIT :bye'), /Refused: QUIT cannot be sent/);
    assert.match(await command('!cmd PROTOCTL NAMESX'), /Refused/);
    assert.match(await command('!cmd privmsg Witness :x'), /Refused: The command must be uppercase/);
    const from = obs.lines.length;
    assert.match(await command('!cmd PRIVMSG Witness :raw hello'), /Sent PRIVMSG/);
    await obs.waitFor((l) => /Davey!\S+ PRIVMSG Witness :raw hello$/.test(l), 10_000, from);
  });

  it('!cmd JOIN and PART name only channels the bridge can address (InspIRCd accepts #a:b, and its echo once ended the bridge)', async () => {
    for (const bad of ['JOIN #a:b', 'JOIN #fine,#a:b', 'PART #a:b', 'JOIN 0']) {
      assert.match(await command(`!cmd ${bad}`), /Refused: .*(not a valid channel name|needs a channel)/, bad);
    }
    const from = obs.lines.length;
    assert.match(await command('!cmd PRIVMSG Witness :still here'), /Sent PRIVMSG/);
    await obs.waitFor((l) => /Davey!\S+ PRIVMSG Witness :still here$/.test(l), 10_000, from);
  });

  it('!username sets the ident of the next connection, and refuses one IRC cannot carry', async () => {
    assert.match(await command('!username bad name'), /Give a username of 1 to 10/);
    assert.match(await command('!username da@ve'), /Give a username/);
    assert.match(await command('!username dave_irc'), /dave_irc from your next connection/);
    await command('!reconnect');
    // No identd here, so InspIRCd shows it with its "~" (unverified) mark.
    await eventually(
      async () => (await obs.whois('Davey')).some((l) => / 311 \S+ Davey ~?dave_irc /.test(l)),
      'WHOIS shows the chosen username',
      30_000,
    );
  });

  it("!whois answers with the IRC user's details", async () => {
    const reply = await command('!whois Witness');
    assert.match(reply, /Witness is observer@/);
    assert.match(await command('!whois NoSuchNick'), /There is no IRC user called NoSuchNick/);
  });

  it('!storepass stores the password encrypted: nothing on disk contains it; !removepass deletes it', async () => {
    const secret = 'hunter2-Very-Secret';
    assert.match(await command(`!storepass ${secret}`), /stored encrypted/);
    assert.equal(await b.connector().passwords.get('testnet', '@dave:localhost'), secret);
    await b.fx.bridge.idle();
    // The database and the connector's data dir (with the generated key). The core's transaction
    // journal holds the raw Matrix event the user typed, as the homeserver does; that is the core's.
    const dirs = [path.join(b.fx.dataDir, 'db'), b.connector().ctx.config.data_dir];
    assert.ok(
      filesUnder(dirs[1]).some((f) => f.endsWith('irc-passwords.key')),
      'a key was generated',
    );
    for (const file of dirs.flatMap(filesUnder)) {
      assert.ok(!readFileSync(file).includes(secret), `${file} contains the password`);
    }
    // The admin-room message itself is the user's own; the bot never repeats it.
    assert.ok(!botMessages(b.fx.hs, adminRoom).some((m) => m.includes(secret)));
    assert.match(await command('!removepass'), /was deleted/);
    assert.equal(await b.connector().passwords.get('testnet', '@dave:localhost'), undefined);
    // A NUL would reach the PASS line (irc-framework writes it as is): refused, nothing stored.
    assert.match(await command('!storepass bad\u0000pass'), /cannot contain/);
    assert.equal(await b.connector().passwords.get('testnet', '@dave:localhost'), undefined);
  });

  it('!unlink / !unplumb: a moderator of the room may unlink it, anyone else is told the level needed', async () => {
    // A room Dave moderates (its creator), plumbed by the bridge's config-free path (as an admin would).
    const room = await dave.createRoom({ preset: 'public_chat', invite: [BOT] });
    await b.fx.bridge.portals.link(room, { network: 'testnet', id: '#daves' }, { actor: '@admin:localhost' });
    const erin = await b.fx.hs.registerUser('erin');
    await erin.join(room);
    const erinAdmin = await erin.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(erinAdmin, BOT) === 'join', "bot in Erin's admin room");
    await erin.sendMessage(erinAdmin, `!unlink ${room}`);
    const refusal = await eventually(() => botMessages(b.fx.hs, erinAdmin).find((m) => /may unlink/.test(m)), 'refusal');
    assert.match(refusal, /power level 100; you have 0/);
    assert.ok(await b.fx.bridge.portals.getByRoom(room), 'still linked');
    assert.match(await command(`!unplumb ${room}`), /Unlinked .* from #daves/);
    assert.equal(await b.fx.bridge.portals.getByRoom(room), undefined);
  });

  it('!plumb is for bridge admins only; !bridgeversion answers', async () => {
    const room = await dave.createRoom({ preset: 'public_chat' });
    assert.match(await command(`!plumb ${room} testnet #plumbed`), /admin|permission|not allowed/i);
    assert.match(await command('!bridgeversion'), /Causeway IRC bridge \d+\.\d+\.\d+/);
  });

  it('!feature mentions: a user may stop their nick in IRC lines from becoming a pill that notifies them; the choice survives a restart', async () => {
    const roomId = b.fx.hs.resolveAlias(alias('#cmds'))!;
    if (b.fx.hs.membership(roomId, dave.userId) !== 'join') await dave.join(roomId);
    const nick = () => b.connector().networks.get('testnet')!.users.nickOf(dave.userId)!;
    await eventually(() => nick(), 'dave connected');
    const lineTo = async (text: string) => {
      obs.raw(`PRIVMSG #cmds :${nick()}: ${text}`);
      return eventually(
        () => b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.message' && String(e.content.body).endsWith(text)),
        text,
      );
    };
    const pinged = await lineTo('are you there?');
    assert.deepEqual(pinged.content['m.mentions']?.user_ids, [dave.userId], 'by default the nick is a mention');
    assert.match(String(pinged.content.formatted_body), /matrix\.to\/#\/%40dave%3Alocalhost/);

    assert.match(await command('!feature mentions'), /mentions is on \(the bridge's default\)/);
    assert.match(await command('!feature mentions false'), /mentions is now off for you/);
    const quiet = await lineTo('still around?');
    assert.equal(quiet.content['m.mentions']?.user_ids?.length ?? 0, 0, 'no mention once turned off');
    assert.doesNotMatch(String(quiet.content.formatted_body ?? ''), /matrix\.to/);

    await b.fx.restart();
    assert.match(await command('!feature mentions'), /mentions is off\./, 'kept across a restart');
    assert.match(await command('!feature mentions maybe'), /true, false or default/);
    assert.match(await command('!feature colours'), /Unknown feature colours/);
    assert.match(await command('!feature mentions default'), /mentions is now on for you \(the bridge's default\)/);
  });

  it('a nick is a mention as a whole word, in any IRC case, and not inside a longer word', async () => {
    const roomId = b.fx.hs.resolveAlias(alias('#cmds'))!;
    if (b.fx.hs.membership(roomId, dave.userId) !== 'join') await dave.join(roomId);
    const nick = () => b.connector().networks.get('testnet')!.users.nickOf(dave.userId);
    // After the previous test's restart Dave is connected again once he speaks.
    if (!nick()) await dave.sendMessage(roomId, 'back');
    await eventually(() => nick(), 'dave connected');
    await eventually(() => b.connector().networks.get('testnet')!.channels.get('#cmds')?.joinedBy.has(dave.userId), 'dave on #cmds');
    const line = async (text: string) => {
      obs.raw(`PRIVMSG #cmds :${text}`);
      return eventually(() => b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.message' && e.content.body === text), text);
    };
    const inside = await line(`x${nick()}y, ${nick()}_, ${nick()}[away] and ${nick()}|afk are other nicks`);
    assert.equal(inside.content['m.mentions']?.user_ids?.length ?? 0, 0, 'part of a longer nick-shaped word is not a mention');
    // IRC's case mapping (rfc1459): [ ] and { } are the same letter in two cases.
    const shouted = nick()!.toUpperCase().replace(/\[/g, '{').replace(/\]/g, '}');
    const loud = await line(`hey ${shouted}, twice: ${shouted}!`);
    assert.deepEqual(loud.content['m.mentions']?.user_ids, [dave.userId], 'one mention however often the nick appears');
    assert.match(String(loud.content.formatted_body), /^hey <a href="https:\/\/matrix\.to\/#\/%40dave%3Alocalhost">[^<]+<\/a>, twice/);
  });
});
