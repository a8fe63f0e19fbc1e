import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryConnector, startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import type { TestUser } from '@causeway/testing';
import { configureLogging } from '@causeway/bridge-core/tools';

/** Every file and directory under `root` (itself included) with its permission bits. */
function walk(root: string): Array<{ path: string; mode: number; dir: boolean }> {
  const st = fs.statSync(root);
  const out = [{ path: root, mode: st.mode & 0o777, dir: st.isDirectory() }];
  if (st.isDirectory()) for (const name of fs.readdirSync(root)) out.push(...walk(path.join(root, name)));
  return out;
}

const octal = (m: number) => m.toString(8).padStart(4, '0');

describe('bridge-core: data files are private, and secrets leave the journal', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;
  let umask: number;
  const logDir = fs.mkdtempSync(path.join(tmpdir(), 'causeway-log-'));
  const logFile = path.join(logDir, 'bridge.log');

  before(async () => {
    umask = process.umask(0o022); // the usual umask: plain open/mkdir would give 0644/0755
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: { logging: { file: logFile } },
    });
    alice = await fx.hs.registerUser('alice');
  });
  after(async () => {
    await fx?.stop();
    process.umask(umask);
    configureLogging();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('creates its data directories 0700 and its files 0600 under umask 022', async () => {
    // Traffic, so every kind of data file exists: the journal, the store, the message map.
    const roomId = await alice.join('#_mem_mem_files:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    await alice.sendMessage(roomId, 'hello files');
    await eventually(() => connector.messages().length === 1, 'delivered');
    await fx.bridge.idle();
    await fx.restart(); // closing compacts the store: its files are rewritten too
    const entries = walk(fx.dataDir).filter((e) => e.path !== fx.dataDir);
    const names = entries.map((e) => path.relative(fx.dataDir, e.path));
    for (const expected of ['journal', 'db', path.join('db', 'kv.db'), path.join('db', 'portals.db'), path.join('db', 'messages.db')]) {
      assert.ok(names.includes(expected), `${expected} missing: ${names.join(', ')}`);
    }
    assert.ok(
      names.some((n) => /^journal\/seg-\d+\.log$/.test(n)),
      names.join(', '),
    );
    const open = entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
    assert.deepEqual(
      open.map((e) => `${path.relative(fx.dataDir, e.path)} ${octal(e.mode)}`),
      [],
    );
  });

  it('warns at start about data files other users can read, naming them and the fix', async () => {
    const journalDir = path.join(fx.dataDir, 'journal');
    fs.chmodSync(journalDir, 0o755); // made by hand, or by an older version
    const level = process.env.CAUSEWAY_LOG_LEVEL;
    process.env.CAUSEWAY_LOG_LEVEL = 'warn';
    try {
      await fx.restart();
      const line = await eventually(
        () =>
          (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '').split('\n').find((l) => /other users of this machine/.test(l)),
        'the warning',
      );
      assert.ok(line.includes(`${journalDir} (0755)`), line);
      assert.ok(line.endsWith(`chmod -R go-rwx ${fx.dataDir}`), line);
      assert.ok(!line.includes('kv.db'), line);
    } finally {
      if (level === undefined) delete process.env.CAUSEWAY_LOG_LEVEL;
      else process.env.CAUSEWAY_LOG_LEVEL = level;
      configureLogging({ file: logFile });
      fs.chmodSync(journalDir, 0o700);
    }
  });

  it('drops an admin-room command with a secret argument from the journal once it is handled', async () => {
    const secret = 'hunter2-typed-in-an-admin-room';
    let stored: string | undefined;
    connector.ctx.commands.register({
      name: 'setsecret',
      summary: 'Store a secret.',
      args: [{ name: 'value', rest: true, secret: true }],
      async run(cmd) {
        stored = cmd.args.value;
        await cmd.reply('Stored.');
      },
    });
    const roomId = await alice.createRoom({ is_direct: true, invite: ['@_mem_bot:localhost'], preset: 'trusted_private_chat' });
    await eventually(() => fx.hs.membership(roomId, '@_mem_bot:localhost') === 'join', 'bot joined');
    await alice.sendMessage(roomId, `!setsecret ${secret}`);
    await eventually(
      () => fx.hs.roomTimeline(roomId).some((e) => e.sender === '@_mem_bot:localhost' && e.content?.body === 'Stored.'),
      'reply',
    );
    assert.equal(stored, secret);
    const journalDir = path.join(fx.dataDir, 'journal');
    const holding = () => fs.readdirSync(journalDir).filter((f) => fs.readFileSync(path.join(journalDir, f)).includes(secret));
    // The journal rotates aged segments once a minute anyway: this must happen long before.
    await eventually(() => holding().length === 0, `the journal to let go of the secret (still in ${holding().join(', ')})`, 5_000);
    // The command is also taken out of the room's history (the only redaction in the room).
    const redaction = await eventually(
      () => fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.redaction' && e.sender === '@_mem_bot:localhost'),
      'the command redacted',
    );
    const target = fx.hs.roomTimeline(roomId).find((e) => e.event_id === redaction.redacts);
    assert.equal(target?.sender, alice.userId);
    assert.ok(!JSON.stringify(fx.hs.roomTimeline(roomId)).includes(secret), 'the secret is still in the room');
    // Ordinary messages are journaled (and kept) as before.
    await alice.sendMessage(roomId, '!help');
    await eventually(
      () => fx.hs.roomTimeline(roomId).some((e) => e.sender === '@_mem_bot:localhost' && /Available commands/.test(e.content?.body ?? '')),
      'help',
    );
    const help = fx.hs.roomTimeline(roomId).find((e) => e.sender === alice.userId && e.content?.body === '!help');
    assert.ok(!fx.hs.roomTimeline(roomId).some((e) => e.type === 'm.room.redaction' && e.redacts === help?.event_id), '!help was redacted');
  });

  it('asks the owner to delete a command with a secret where the bot may not redact it', async () => {
    const roomId = await alice.createRoom({ is_direct: true, invite: ['@_mem_bot:localhost'], preset: 'private_chat' });
    await eventually(() => fx.hs.membership(roomId, '@_mem_bot:localhost') === 'join', 'bot joined');
    await alice.sendMessage(roomId, '!setsecret another-secret');
    await eventually(
      () =>
        fx.hs
          .roomTimeline(roomId)
          .some((e) => e.sender === '@_mem_bot:localhost' && /please delete it yourself/.test(e.content?.body ?? '')),
      'the request to delete it',
    );
    assert.ok(
      fx.hs.roomTimeline(roomId).some((e) => e.sender === '@_mem_bot:localhost' && e.content?.body === 'Stored.'),
      'the command ran',
    );
  });
});
