/**
 * A matrix-appservice-irc deployment as most are: one network per bridge, with MAI's default
 * templates `#irc_$CHANNEL` and `@irc_$NICK`. Its config goes through `migrate-mai-config`
 * and the result runs end to end: the alias its users already know creates the portal, and IRC
 * nicks map to the ghost IDs MAI gave them.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import {
  asObject,
  startInspircd,
  connectObserver,
  type InspircdHandle,
  type JsonObject,
  type Observer,
  type TestUser,
} from '@causeway/testing';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { IrcConnector, migrateMaiConfigCommand, type IrcConfig } from '@causeway/irc-bridge';

/** A line as IRC users read it, without the IRCv3 tags InspIRCd puts in front. */
const untagged = (l: string) => l.replace(/^@\S+ /, '');

/** Runs the command as an operator would; returns the written config and what it said on stderr. */
async function migrate(maiYaml: string): Promise<{ config: JsonObject; stderr: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'causeway-mai-single-'));
  try {
    writeFileSync(path.join(dir, 'mai.yaml'), maiYaml);
    const stderr: string[] = [];
    const code = await migrateMaiConfigCommand.run([path.join(dir, 'mai.yaml'), '-o', path.join(dir, 'config.yaml')], {
      stdout: () => undefined,
      stderr: (t) => {
        stderr.push(t);
      },
    });
    assert.equal(code, 0, stderr.join('\n'));
    return { config: asObject(parse(readFileSync(path.join(dir, 'config.yaml'), 'utf8')), 'the written config'), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const maiConfig = (servers: Record<string, { port: number }>) => `
homeserver:
  url: "http://127.0.0.1:8008"
  domain: "localhost"
ircService:
  servers:
${Object.entries(servers)
  .map(
    ([address, s]) => `    "${address}":
      port: ${s.port}
      botConfig: { enabled: true, nick: "MaiBot" }
      dynamicChannels: { enabled: true, aliasTemplate: "#irc_$CHANNEL" }
      membershipLists:
        enabled: true
        global:
          ircToMatrix: { initial: false, incremental: true }
          matrixToIrc: { initial: false, incremental: true }
      matrixClients: { userTemplate: "@irc_$NICK", displayName: "$NICK (IRC)" }
      ircClients: { nickTemplate: "$DISPLAY[m]", maxClients: 30 }
`,
  )
  .join('')}`;

describe('irc-bridge: a migrated single-network matrix-appservice-irc config, end to end', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let fx: BridgeFixture<IrcConfig>;
  let alice: TestUser;
  let network: string;
  const observers: Observer[] = [];

  before(async () => {
    ircd = await startInspircd();
    const { config, stderr } = await migrate(maiConfig({ [ircd.host]: { port: ircd.port } }));
    assert.ok(!stderr.some((l) => l.startsWith('to fix')), stderr.join('\n'));
    const bridge = asObject(config.bridge, 'bridge');
    const irc = asObject(config.irc, 'irc');
    assert.equal(bridge.ghost_localpart_template, 'irc_$ID');
    assert.equal(bridge.alias_localpart_template, 'irc_$ID');
    const servers = asObject(irc.servers, 'irc.servers');
    network = Object.keys(servers)[0];
    const server = asObject(servers[network], `irc.servers.${network}`);
    // Only what a test run needs on top: a fast flood queue and a throwaway data directory.
    server.clients = { ...asObject(server.clients, 'clients'), flood_lines_per_second: 50, connect_rate_per_second: 20 };
    fx = await startBridgeFixture<IrcConfig>({
      connector: () => new IrcConnector(),
      configKey: 'irc',
      core: { bridge: { ...bridge, admins: ['@admin:localhost'] } },
      connectorConfig: { ...irc, data_dir: mkdtempSync(path.join(tmpdir(), 'causeway-irc-data-')) },
    });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await fx?.stop();
    await ircd?.dispose();
  });

  it('joining #irc_#channel creates the portal; messages cross both ways under @irc_<nick>', async () => {
    const bob = await connectObserver(ircd, 'Bob');
    observers.push(bob);
    await bob.join('#mai');
    const from = bob.lines.length;
    const roomId = await alice.join('#irc_#mai:localhost');
    const portal = await eventually(() => fx.bridge.portals.getByRoom(roomId), 'portal');
    assert.deepEqual(portal.key, { network, id: '#mai' });
    await bob.waitFor((l) => /^:Alice\[m\]!\S+ JOIN :?#mai/i.test(untagged(l)), 20_000, from);

    await alice.sendMessage(roomId, 'hello from matrix');
    await bob.waitFor((l) => /^:Alice\[m\]!\S+ PRIVMSG #mai :hello from matrix$/.test(untagged(l)), 10_000, from);

    bob.raw('PRIVMSG #mai :hello from irc');
    const ev = await eventually(
      () => fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.message' && e.content.body === 'hello from irc'),
      'IRC line in Matrix',
    );
    assert.equal(ev.sender, '@irc_bob:localhost', 'the ghost ID MAI gave Bob');
    assert.equal(fx.hs.profile('@irc_bob:localhost')?.displayname, 'Bob (IRC)');
  });

  it("answers the homeserver's user query for an IRC nick: the ghost exists once asked for", async () => {
    assert.equal(fx.hs.userExists('@irc_carol:localhost'), false);
    const r = await alice.request('GET', `/profile/${encodeURIComponent('@irc_carol:localhost')}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(fx.hs.userExists('@irc_carol:localhost'), true);
    // Outside the template, or with a nick IRC cannot have: still 404.
    const bad = await alice.request('GET', `/profile/${encodeURIComponent('@irc_=23bad:localhost')}`);
    assert.equal(bad.status, 404);
  });

  it('the same MAI templates on two networks are named as still to fix by the migration', async () => {
    const { stderr } = await migrate(maiConfig({ 'irc.one.example': { port: 6667 }, 'irc.two.example': { port: 6667 } }));
    const fix = stderr.filter((l) => l.startsWith('to fix'));
    assert.ok(
      fix.some((l) => /bridge\.ghost_localpart_template: "irc_\$ID" has no \$NETWORK, but 2 networks are configured/.test(l)),
      stderr.join('\n'),
    );
    assert.ok(
      fix.some((l) => /bridge\.alias_localpart_template: "irc_\$ID" has no \$NETWORK/.test(l)),
      stderr.join('\n'),
    );
  });
});
