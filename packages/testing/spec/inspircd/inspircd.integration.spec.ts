import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { startInspircd, type InspircdHandle } from '../../src/inspircd/index';

/** Registers with a raw socket and returns every line until the socket closes or 001 arrives. */
function rawRegister(h: InspircdHandle, nick: string, user: string): Promise<string[]> {
  return new Promise((resolve) => {
    const s = net.connect({ host: h.host, port: h.port });
    let buf = '';
    const done = () => {
      s.destroy();
      resolve(buf.split('\r\n').filter(Boolean));
    };
    s.on('connect', () => s.write(`NICK ${nick}\r\nUSER ${user} 0 * :x\r\n`));
    s.on('data', (d) => {
      buf += d.toString();
      if (/ (001|432) /.test(buf)) done();
    });
    s.on('close', done);
    s.on('error', done);
    setTimeout(done, 5000);
  });
}

describe('harness: InspIRCd launcher', function () {
  this.timeout(30000);
  let h: InspircdHandle;
  before(async () => {
    h = await startInspircd({
      klines: [{ mask: 'kbanned@*', reason: 'harness K-line' }],
      badnicks: [{ nick: 'Forbidden*', reason: 'no' }],
    });
  });
  after(async () => h?.dispose());

  it('answers registrations on its own loopback port', async () => {
    assert.equal(h.host, '127.0.0.1');
    const lines = await rawRegister(h, 'plain1', 'plain');
    assert.ok(lines.some((l) => / 001 plain1 /.test(l)));
  });

  it('rejects a K-lined user mask with 465 and ERROR', async () => {
    const lines = await rawRegister(h, 'victim', 'kbanned');
    assert.ok(
      lines.some((l) => / 465 /.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^ERROR :.*K-Lined/i.test(l)),
      lines.join('\n'),
    );
  });

  it('refuses a <badnick> with 432', async () => {
    const lines = await rawRegister(h, 'Forbidden1', 'u');
    assert.ok(
      lines.some((l) => / 432 /.test(l)),
      lines.join('\n'),
    );
  });

  it('restart() drops clients and comes back on the same port', async () => {
    const sock = net.connect({ host: h.host, port: h.port });
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    sock.resume(); // read, so the server's close is noticed
    const port = h.port;
    await h.restart();
    await closed;
    assert.equal(h.port, port);
    const lines = await rawRegister(h, 'after', 'u');
    assert.ok(lines.some((l) => / 001 after /.test(l)));
  });

  it('allows many connections from 127.0.0.1 (connect class raised)', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => rawRegister(h, `many${i}`, 'many')));
    assert.equal(results.filter((r) => r.some((l) => / 001 /.test(l))).length, 20);
  });
});
