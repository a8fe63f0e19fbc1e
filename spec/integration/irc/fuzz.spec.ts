/**
 * Fuzzing the bridge's IRC side: a fake server sends a few thousand random, truncated and
 * garbled lines to every connection of the bridge (bounded in count and time, deterministic for
 * a seed), then an ordinary line, which must still reach Matrix. A crash anywhere (irc-framework,
 * the connection, the network's handlers, the core) fails the run. The seed is printed on
 * failure; FUZZ_SEED=<n> replays it.
 */
import { strict as assert } from 'node:assert';
import { FakeIrcd } from '@causeway/testing';
import { startIrcBridge, alias, eventually, messages, type IrcBridge } from './support';

const CH = '#fuzz';
const LINES = 3000;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMANDS = [
  'PRIVMSG',
  'NOTICE',
  'JOIN',
  'PART',
  'KICK',
  'QUIT',
  'NICK',
  'TOPIC',
  'MODE',
  'INVITE',
  'PING',
  'PONG',
  'CAP',
  'CHGHOST',
  'ACCOUNT',
  'AWAY',
  'SETNAME',
  'BATCH',
  'TAGMSG',
  'ERROR',
  'WALLOPS',
  'FOO',
  '004',
  '005',
  '301',
  '311',
  '312',
  '317',
  '318',
  '319',
  '324',
  '329',
  '330',
  '331',
  '332',
  '333',
  '353',
  '366',
  '367',
  '368',
  '372',
  '375',
  '376',
  '396',
  '401',
  '403',
  '404',
  '421',
  '432',
  '433',
  '442',
  '473',
  '474',
  '482',
  '900',
  '904',
];

function lineGenerator(rand: () => number) {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);
  const junk = (max: number) => {
    let s = '';
    const n = int(max);
    for (let i = 0; i < n; i++) {
      const r = rand();
      s +=
        r < 0.6
          ? String.fromCharCode(0x20 + int(0x5f)) // printable ASCII
          : r < 0.75
            ? String.fromCharCode(int(0x20)) // controls, NUL and formatting codes included
            : r < 0.85
              ? pick([' ', ':', '@', '!', ';', '=', ',', '#', '\\', '+', '\x01'])
              : String.fromCodePoint(0x80 + int(0x2000)); // non-ASCII
    }
    return s.replace(/[\r\n]/g, '');
  };
  // Never our own nicks, nor a 001 (it names us): a KICK or PART of our connections, or a new
  // identity, takes them out of the channel (rightly), and a real server would then stop sending
  // them its lines; the final line is about surviving the rest, not about re-joining.
  const nick = () => pick(['zed', 'yan', 'x', '', '*', 'a!b', 'nick' + int(50), junk(12).replace(/ /g, '')]);
  const prefix = () => {
    const r = rand();
    return r < 0.1
      ? ''
      : r < 0.2
        ? ':fake.ircd '
        : r < 0.25
          ? ': '
          : `:${nick()}!${junk(6).replace(/ /g, '')}@${junk(10).replace(/ /g, '')} `;
  };
  const tags = () =>
    rand() < 0.2
      ? `@${pick(['msgid', 'time', 'account', 'batch', '+draft/reply', 'x', ''])}=${junk(20).replace(/ /g, '')}${rand() < 0.3 ? ';a;b=' : ''} `
      : '';
  const param = () => pick([CH, '#other', '#a:b', '#', '', '*', '+o', '-v+b', '0', junk(15).replace(/ /g, '')]);
  return (): string => {
    const r = rand();
    if (r < 0.08) return junk(80); // no structure at all
    const params: string[] = [];
    const n = int(5);
    for (let i = 0; i < n; i++) params.push(param());
    let line = `${tags()}${prefix()}${pick(COMMANDS)}${params.length ? ' ' + params.join(' ') : ''}${rand() < 0.6 ? ` :${junk(60)}` : ''}`;
    if (rand() < 0.2) line = line.slice(0, int(line.length + 1)); // truncated
    return line;
  };
}

describe('irc-bridge: fuzzing the IRC side', function () {
  this.timeout(60_000);
  let fake: FakeIrcd;
  let b: IrcBridge;
  let roomId: string;
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

  before(async () => {
    fake = await FakeIrcd.start();
    b = await startIrcBridge(fake);
    const alice = await b.fx.hs.registerUser('alice');
    roomId = await alice.join(alias(CH));
    await eventually(() => fake.client('CwBot')?.channels.has(CH), 'relay bot joined the channel');
  });
  after(async () => {
    await b?.fx.stop();
    await fake?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})\n`);
  });

  it(`survives ${LINES} random and truncated lines and relays an ordinary line afterwards`, async () => {
    const rand = prng(seed);
    const next = lineGenerator(rand);
    const bodies = () => messages(b.fx.hs, roomId).map((e) => String(e.content.body));
    for (let sent = 0; sent < LINES;) {
      // A burst of lines in one write, cut at a random byte: lines arrive split across reads too.
      let burst = '';
      for (let i = 0; i < 20 && sent < LINES; i++, sent++) burst += next() + (rand() < 0.9 ? '\r\n' : '\n');
      const data = Buffer.from(burst, 'utf8');
      const cut = Math.floor(rand() * data.length);
      fake.send(data.subarray(0, cut));
      fake.send(data.subarray(cut));
      await new Promise((r) => setImmediate(r));
    }
    // A random MODE may have left the channel moderated (+m: the room's send level raised), rightly
    // keeping an unvoiced IRC user's line out; a channel operator lifts it, as on a real network.
    fake.send(`:op!o@irc.test MODE ${CH} -m\r\n`);
    const text = `after the storm (seed ${seed})`;
    fake.send(`:calm!c@irc.test PRIVMSG ${CH} :${text}\r\n`);
    await eventually(() => bodies().includes(text), `the ordinary line relayed after the fuzz (seed ${seed})`, 20_000);
    assert.ok(fake.client('CwBot'), `the relay bot is still connected (seed ${seed})`);
  });
});
