/**
 * `encoding_fallback` (MAI's encodingFallback): lines that are not valid UTF-8 are read in the
 * configured legacy encoding instead of turning into replacement characters; UTF-8 lines, and
 * everything the bridge sends, stay UTF-8.
 */
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { ConfigError } from '@causeway/bridge-core';
import { parseConfig } from '@causeway/bridge-core/tools';
import { IrcConfigSchema } from '@causeway/irc-bridge';
import { IrcConnector } from '@causeway/irc-bridge';
import { startIrcBridge, alias, ghostId, eventually, messages, type IrcBridge } from './support';

/** A bare socket client, so a test can put any bytes on the wire (irc-framework would encode them). */
async function rawClient(ircd: InspircdHandle, nick: string, channel: string): Promise<net.Socket> {
  const sock = net.connect(ircd.port, ircd.host);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('data', (d) => {
      seen += d.toString('latin1');
      for (const m of seen.matchAll(/^PING (.*)\r?$/gm)) sock.write(`PONG ${m[1]}\r\n`);
      if (/ 366 /.test(seen)) resolve();
      else if (/ 001 /.test(seen) && !seen.includes('JOINSENT')) {
        seen += 'JOINSENT';
        sock.write(`JOIN ${channel}\r\n`);
      }
    });
    sock.write(`NICK ${nick}\r\nUSER ${nick.toLowerCase()} 0 * :${nick}\r\n`);
  });
  return sock;
}

describe('irc-bridge: encoding_fallback', function () {
  this.timeout(60_000);

  it('names an unknown encoding in the config before anything starts', () => {
    const yaml =
      'homeserver: {url: http://127.0.0.1:8008, domain: example.org}\nirc:\n  servers:\n    old:\n      address: irc.example.org\n      encoding_fallback: klingon\n';
    const { connector } = parseConfig(yaml, { key: 'irc', schema: IrcConfigSchema });
    // The connector's cross-checks run first thing in init().
    assert.throws(
      () => new IrcConnector().init({ config: connector } as never),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.startsWith('irc.servers.old.encoding_fallback: unknown encoding "klingon"')),
    );
  });

  describe('through InspIRCd', () => {
    let ircd: InspircdHandle;
    let b: IrcBridge;
    before(async () => {
      ircd = await startInspircd();
      b = await startIrcBridge(ircd, { encoding_fallback: 'windows-1252' });
    });
    after(async () => {
      await b?.fx.stop();
      await ircd?.dispose();
    });

    it('shows a Latin-1 line from an old client as text on Matrix, and a UTF-8 one as it was', async () => {
      const alice = await b.fx.hs.registerUser('alice');
      const roomId = await alice.join(alias('#old'));
      const sock = await rawClient(ircd, 'Oldie', '#old');
      try {
        sock.write(Buffer.concat([Buffer.from('PRIVMSG #old :caf'), Buffer.from([0xe9]), Buffer.from(' au lait\r\n')]));
        sock.write(Buffer.from('PRIVMSG #old :naïve ☕ utf-8\r\n', 'utf8'));
        await eventually(() => messages(b.fx.hs, roomId, ghostId('Oldie')).length === 2, 'both lines on Matrix');
        assert.deepEqual(
          messages(b.fx.hs, roomId, ghostId('Oldie')).map((e) => e.content.body),
          ['café au lait', 'naïve ☕ utf-8'],
        );
      } finally {
        sock.destroy();
      }
    });
  });
});
