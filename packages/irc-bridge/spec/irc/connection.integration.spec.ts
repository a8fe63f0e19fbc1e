import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { IrcConnection } from '../../src/irc/connection';
import { IrcConnectionError, type IrcConnectionOptions, type IncomingMessage } from '../../src/irc/connection-types';

describe('irc connection (real InspIRCd)', function () {
  this.timeout(30000);
  let h: InspircdHandle;
  let obs: Observer;
  const open: IrcConnection[] = [];
  const mk = (o: Partial<IrcConnectionOptions> & { nick: string }) => {
    const c = new IrcConnection({
      host: h.host,
      port: h.port,
      username: 'bridge',
      realname: 'Matrix user',
      flood: { burst: 10, ratePerSecond: 50 },
      ...o,
    });
    open.push(c);
    return c;
  };

  before(async () => {
    h = await startInspircd({ klines: [{ mask: 'klined@*', reason: 'harness ban' }] });
    obs = await connectObserver(h, 'observer');
    await obs.join('#inj');
    obs.raw('MODE #inj -t'); // let non-ops set the topic
    await obs.waitFor((l) => / MODE #inj :?-t/.test(l));
  });
  after(async () => {
    await Promise.all(open.map((c) => c.quit().catch(() => undefined)));
    await obs?.close();
    await h?.dispose();
  });

  it('registers with the real nick and host and learns ISUPPORT', async () => {
    const c = mk({ nick: 'regtest' });
    const ev = await c.connect();
    assert.equal(ev.nick, 'regtest');
    assert.equal(ev.host, '127.0.0.1');
    assert.equal(ev.isupport.caseMapping, 'rfc1459');
    assert.ok(ev.caps.includes('server-time'));
    assert.equal(c.budgetFor('#inj'), 510 - ('regtest'.length + 'bridge'.length + '127.0.0.1'.length + 4) - 8 - 4 - 2);
  });

  it('observers get each event with their tag, in the order they were added and before on() listeners, until unobserved', async () => {
    const c = mk({ nick: 'watched' });
    const seen: string[] = [];
    const first = {
      join: (tag: string, ev: { channel: string; self: boolean }) => {
        if (ev.self) seen.push(`${tag} join ${ev.channel}`);
      },
    };
    const second = {
      join: (tag: number, ev: { channel: string; self: boolean }) => {
        if (ev.self) seen.push(`${tag} join ${ev.channel}`);
      },
      part: (tag: number, ev: { channel: string; self: boolean }) => {
        if (ev.self) seen.push(`${tag} part ${ev.channel}`);
      },
    };
    c.on('join', (ev) => {
      if (ev.self) seen.push(`listener join ${ev.channel}`);
    });
    c.observe(first, 'a').observe(second, 2);
    const registered = await c.connect();
    const until = async (n: number) => {
      for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    await c.join('#watch');
    await until(3);
    c.unobserve(first, 'a');
    await c.part('#watch');
    await until(4);
    await c.join('#watch2');
    await until(6);
    assert.deepEqual(seen, [
      'a join #watch',
      '2 join #watch',
      'listener join #watch',
      '2 part #watch',
      '2 join #watch2',
      'listener join #watch2',
    ]);
    // Connections to one server share their view of it (one copy per bridge, not per user).
    const other = mk({ nick: 'watched2' });
    const again = await other.connect();
    assert.equal(again.caps, registered.caps);
    assert.equal(again.isupport, registered.isupport);
    assert.deepEqual([...again.caps].sort(), [...registered.caps].sort());
  });

  it('barrier() resolves once the server has handled the lines queued before it, false when the connection closes first', async () => {
    const c = mk({ nick: 'barrier' });
    await c.connect();
    const order: string[] = [];
    c.on('join', (ev) => {
      if (ev.self) order.push(`join ${ev.channel}`);
    });
    void c.join('#barrier1');
    void c.join('#barrier2');
    assert.equal(await c.barrier(), true);
    order.push('barrier');
    assert.deepEqual(order, ['join #barrier1', 'join #barrier2', 'barrier']);
    c.destroySocket();
    assert.equal(await c.barrier(), false);
  });

  it('CR/LF/NUL injection in message, topic, kick/part reason, nick, key and !cmd never becomes a second command', async () => {
    const c = mk({ nick: 'attacker', realname: 'real\r\nJOIN #evilreal' });
    await c.connect();
    await c.join('#inj');
    await obs.waitFor((l) => /:attacker!\S+ JOIN :?#inj/.test(l));
    const from = obs.lines.length;
    await c.say('#inj', 'hello\r\nJOIN #evil1\r\nQUIT :gone');
    await c.notice('#inj', 'n\nJOIN #evil2');
    await c.action('#inj', 'waves\rJOIN #evil3');
    await c.topic('#inj', 'topic\r\nJOIN #evil4');
    await c.say('#inj', 'nul\0byte \x01VERSION\x01');
    await assert.rejects(async () => c.join('#inj\r\nJOIN #evil5'));
    await assert.rejects(async () => c.kick('#inj', 'observer\r\nJOIN #evil6'));
    const r1 = await c.raw('PRIVMSG #inj :x\r\nJOIN #evil7');
    assert.equal(r1.ok, false);
    const r2 = await c.raw('QUIT :bye');
    assert.equal(r2.ok, false);
    const n = await c.changeNick('bad\r\nJOIN #evil8');
    assert.equal(n.ok, false);
    await c.part('#inj', 'leaving\r\nJOIN #evil9\nQUIT');
    await obs.waitFor((l) => /:attacker!\S+ PART #inj/.test(l), 5000, from);
    // Still connected (no injected QUIT took effect) and in no #evil channel.
    const whois = await obs.whois('attacker');
    assert.ok(
      whois.some((l) => / 311 /.test(l)),
      whois.join('\n'),
    );
    assert.ok(!whois.some((l) => / 319 /.test(l) && /#evil/.test(l)), whois.join('\n'));
    // The realname's line break became a space, not a command.
    assert.ok(whois.some((l) => / 311 .*:real JOIN #evilreal$/.test(l)));
    const seen = obs.lines.slice(from).map(stripTags);
    assert.ok(!seen.some((l) => / (JOIN|QUIT) /.test(l) && /#evil|QUIT/.test(l.split(' :')[0])), seen.join('\n'));
    assert.ok(seen.some((l) => /PRIVMSG #inj :hello$/.test(l)));
    assert.ok(
      seen.some((l) => /PRIVMSG #inj :JOIN #evil1$/.test(l)),
      'the line after the break is sent as text',
    );
    assert.ok(seen.some((l) => /TOPIC #inj :topic JOIN #evil4$/.test(l)));
    assert.ok(
      seen.some((l) => /PRIVMSG #inj :nulbyte VERSION$/.test(l)),
      'NUL and \\x01 stripped',
    );
    assert.ok(
      seen.some((l) => /PART #inj :"?leaving JOIN #evil9 QUIT/.test(l)),
      seen.join('\n'),
    );
    assert.equal(c.state, 'registered');
  });

  it('nick collision at registration falls back deterministically and reports it', async () => {
    const a = mk({ nick: 'Collide' });
    await a.connect();
    const b = mk({ nick: 'Collide' });
    const fallbacks: string[] = [];
    b.on('nick-fallback', (e) => fallbacks.push(`${e.requested}->${e.nick}:${e.reason.kind}`));
    const ev = await b.connect();
    assert.equal(ev.nick, 'Collide[m]');
    assert.deepEqual(fallbacks, ['Collide->Collide[m]:nick_in_use']);
    const c = mk({ nick: 'collide' }); // rfc1459: same nick
    assert.equal((await c.connect()).nick, 'collide[m]2');
  });

  it('nick change to a taken nick keeps the old nick and reports why', async () => {
    const a = mk({ nick: 'Taken' });
    const b = mk({ nick: 'Wanter' });
    await Promise.all([a.connect(), b.connect()]);
    const failed: string[] = [];
    b.on('nick-change-failed', (e) => failed.push(e.reason.kind));
    const r = await b.changeNick('Taken');
    assert.equal(r.ok, false);
    assert.equal(b.nick, 'Wanter');
    assert.deepEqual(failed, ['nick_in_use']);
    assert.deepEqual(await b.changeNick('Wanter2'), { ok: true, nick: 'Wanter2' });
    assert.equal(b.nick, 'Wanter2');
  });

  it('a maximum-length line sized from the real host arrives intact, multi-byte included', async () => {
    const c = mk({ nick: 'longsender' });
    await c.connect();
    await c.join('#inj');
    const text = 'ab€😀 '.repeat(200); // ~1,800 bytes, multi-byte everywhere
    const from = obs.lines.length;
    const report = await c.say('#inj', text);
    assert.ok(report.delivered && report.lines >= 4, JSON.stringify(report));
    await obs.waitFor(
      () => obs.lines.slice(from).filter((x) => x.includes(':longsender!') && / PRIVMSG #inj :/.test(x)).length >= report.lines,
      5000,
      from,
    );
    const got = obs.lines
      .slice(from)
      .map(stripTags)
      .filter((l) => l.startsWith(':longsender!') && / PRIVMSG #inj :/.test(l));
    assert.equal(got.length, report.lines);
    for (const l of got) assert.ok(Buffer.byteLength(l) <= 510);
    assert.ok(Math.max(...got.map((l) => Buffer.byteLength(l))) > 480, 'lines use the budget');
    assert.equal(got.map((l) => l.slice(l.indexOf(' :', l.indexOf('PRIVMSG')) + 2)).join(' '), text.trim());
  });

  it('budget follows a host change (CHGHOST / 396)', async () => {
    const c = mk({ nick: 'rehosted' });
    const hosts: string[] = [];
    c.on('host-changed', (i) => hosts.push(i.host));
    await c.connect();
    const before = c.budgetFor('#x');
    obs.raw(`OPER ${h.oper.name} ${h.oper.password}`);
    await obs.waitFor((l) => / 381 /.test(l));
    const vhost = 'a.much.longer.virtual.host.example.org';
    obs.raw(`CHGHOST rehosted ${vhost}`);
    const deadline = Date.now() + 3000;
    while (!hosts.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.self.host, vhost);
    assert.equal(c.budgetFor('#x'), before - (vhost.length - '127.0.0.1'.length));
  });

  it('receives messages with server-time and msgid, actions and notices', async () => {
    const c = mk({ nick: 'listener' });
    await c.connect();
    await c.join('#inj');
    await obs.waitFor((l) => /:listener!\S+ JOIN/.test(l));
    const got: IncomingMessage[] = [];
    c.on('message', (m) => got.push(m));
    obs.raw('PRIVMSG #inj :\x02hi\x02');
    obs.raw('PRIVMSG #inj :\x01ACTION waves');
    obs.raw('NOTICE listener :psst');
    const deadline = Date.now() + 3000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      got.map((m) => [m.kind, m.text, m.isChannel]),
      [
        ['privmsg', '\x02hi\x02', true],
        ['action', 'waves', true],
        ['notice', 'psst', false],
      ],
    );
    assert.ok(got[0].msgid);
    assert.ok(Math.abs(got[0].time.getTime() - Date.now()) < 5000);
  });

  it('a K-lined user is classified fatal (banned)', async () => {
    const c = mk({ nick: 'kvictim', username: 'klined' });
    const err = await c.connect().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof IrcConnectionError);
    assert.deepEqual([err.disconnect.class, err.disconnect.kind], ['fatal', 'banned']);
    assert.match(err.disconnect.detail ?? '', /K-Lined/i);
  });

  it('an unreachable server is a retryable net error; connect timeout applies', async () => {
    const c = new IrcConnection({ host: '127.0.0.1', port: 1, nick: 'x', username: 'x', realname: 'x' });
    const err = (await c.connect().catch((e: unknown) => e)) as IrcConnectionError;
    assert.deepEqual([err.disconnect.class, err.disconnect.kind], ['retryable', 'net_error']);
  });
});

function stripTags(line: string): string {
  return line.startsWith('@') ? line.slice(line.indexOf(' ') + 1) : line;
}
