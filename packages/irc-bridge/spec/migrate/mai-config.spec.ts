/**
 * Moving from matrix-appservice-irc: its config becomes ours, every key either carried over or
 * named in a note, and the result validates (or names what is still to fix).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { validateConfig } from '@causeway/bridge-core/tools';
import { convertMaiConfig } from '../../src/migrate/mai-config';
import { migrateMaiConfigCommand } from '../../src/migrate/migrate-command';
import { IrcConfigSchema } from '../../src/config-schema';
import { asObject, at } from '@causeway/testing';

/** An MAI config as a Libera-style deployment had it (MAI's key names and nesting). */
const MAI_YAML = `
homeserver:
  url: "https://matrix.example.org"
  domain: "example.org"
  dropMatrixMessagesAfterSecs: 300
  bindPort: 8090
  enablePresence: true
ircService:
  servers:
    irc.libera.chat:
      name: "Libera.Chat"
      networkId: "libera"
      port: 6697
      ssl: true
      sasl: true
      additionalAddresses: ["irc.eu.libera.chat"]
      quitDebounce: { enabled: true, quitsPerSecond: 5, delayMinMs: 3600000, delayMaxMs: 7200000 }
      botConfig: { enabled: true, nick: "LiberaBridge", username: "bridge", joinChannelsIfNoUsers: true }
      privateMessages: { enabled: true, federate: false }
      dynamicChannels:
        enabled: true
        published: false
        joinRule: invite
        federate: true
        aliasTemplate: "#irc_$CHANNEL"
        exclude: ["#secret"]
        whitelist: ["@friend:example.org"]
      mappings:
        "#matrix": { roomIds: ["!abc:example.org"], key: "hunter2" }
        "#old": ["!def:example.org"]
      excludedUsers: [{ regex: "@.*:spam\\\\.example$", kickReason: "spam" }]
      membershipLists:
        enabled: true
        floodDelayMs: 10000
        global:
          ircToMatrix: { initial: false, incremental: true, requireMatrixJoined: true }
          matrixToIrc: { initial: false, incremental: true }
        ignoreIdleUsersOnStartup: { enabled: true, idleForHours: 720 }
      matrixClients: { userTemplate: "@irc_$NICK", displayName: "$NICK", joinAttempts: -1 }
      ircClients:
        nickTemplate: "$DISPLAY[m]"
        allowNickChanges: true
        maxClients: 20000
        idleTimeout: 10800
        reconnectIntervalMs: 250
        concurrentReconnectLimit: 50
        lineLimit: 3
        pingTimeoutMs: 600000
        pingRateMs: 60000
        kickOn: { channelJoinFailure: true, ircConnectionFailure: true, userQuit: true }
        userModes: "+R"
        realnameFormat: "reverse-mxid"
  ident: { enabled: true, port: 1113 }
  logging: { level: "warning", logfile: "/var/log/irc.log", errfile: "/var/log/irc.err" }
  metrics: { enabled: true, port: 7001, host: "0.0.0.0" }
  provisioning: { enabled: true, secret: "short", requestTimeoutSeconds: 300, roomLimit: 50, rules: { userIds: { conflict: ["@oldirc_.*"] , exempt: [] } }, openIdOverrides: { "chat.example.lan": "http://10.0.0.5:8008/" } }
  passwordEncryptionKeyPath: "passkey.pem"
  matrixHandler: { shortReplyTemplate: "$NICK: $REPLY", longReplyTemplate: "<$NICK> \\"$ORIGINAL\\" <- $REPLY", shortReplyTresholdSeconds: 120, replySourceMaxLength: 40, eventCacheSize: 4096 }
  ircHandler: { mapIrcMentionsToMatrix: "off", powerLevelGracePeriodMs: 2000 }
  permissions: { "@ops:example.org": "admin", "staff.example.org": "admin" }
  perRoomConfig: { enabled: true, lineLimitMax: 5, allowUnconnectedMatrixUsers: false }
  banLists: { rooms: ["#banlist:example.org"] }
  RMAUlimit: 100000
database:
  engine: postgres
  connectionString: "postgres://irc:secret@localhost/irc"
`;

describe('irc-bridge: migrating a matrix-appservice-irc config', () => {
  const { config, notes } = convertMaiConfig(parse(MAI_YAML));
  /** What the converted config holds at `path` (undefined where it holds nothing). */
  const c = (...path: string[]): unknown => at(config, ...path);
  const s = (...path: string[]): unknown => c('irc', 'servers', 'irc.libera.chat', ...path);

  it('carries the network over under its address, with TLS, SASL, bot, mappings and membership', () => {
    assert.equal(s('address'), 'irc.libera.chat');
    assert.deepEqual(
      [s('port'), s('tls', 'enabled'), s('sasl', 'mechanism'), s('name'), s('network_id')],
      [6697, true, 'plain', 'Libera.Chat', 'libera'],
    );
    assert.deepEqual(s('additional_addresses'), ['irc.eu.libera.chat']);
    assert.deepEqual(s('bot'), { enabled: true, nick: 'LiberaBridge', username: 'bridge' });
    assert.deepEqual(s('mappings'), {
      '#matrix': { room_ids: ['!abc:example.org'], key: 'hunter2' },
      '#old': { room_ids: ['!def:example.org'] },
    });
    assert.deepEqual(s('excluded_users'), ['@.*:spam\\.example$']);
    assert.equal(s('membership', 'irc_to_matrix', 'require_matrix_joined'), true);
    assert.equal(s('membership', 'initial_skip_idle_days'), 30);
    assert.equal(s('membership', 'quit_debounce', 'enabled'), true);
    assert.equal(s('clients', 'connect_rate_per_second'), 4, 'one connect per 250 ms');
    assert.deepEqual([s('clients', 'ping_timeout_s'), s('clients', 'ping_interval_s'), s('clients', 'idle_timeout_s')], [600, 60, 10800]);
    assert.equal(s('clients', 'kick_on', 'connection_failure'), true);
    assert.equal(s('power_level_grace_ms'), 2000);
  });

  it('keeps ghost IDs and aliases as MAI named them, and moves global settings to their places', () => {
    assert.equal(c('bridge', 'ghost_localpart_template'), 'irc_$ID');
    assert.equal(c('bridge', 'alias_localpart_template'), 'irc_$ID');
    assert.equal(c('bridge', 'dm_rooms', 'federate'), false);
    assert.deepEqual(c('bridge', 'admins'), ['@ops:example.org', '@*:staff.example.org']);
    assert.deepEqual(c('bridge', 'ban_lists', 'rooms'), ['#banlist:example.org']);
    assert.equal(c('bridge', 'drop_matrix_messages_after_s'), 300);
    assert.equal(c('appservice', 'port'), 8090);
    assert.equal(c('logging', 'level'), 'warn');
    // MAI's metrics were open on 0.0.0.0: kept open, on purpose and said so.
    assert.deepEqual(c('metrics'), { enabled: true, port: 7001, bind_host: '0.0.0.0', public: true });
    assert.deepEqual(c('database'), { engine: 'postgres', postgres: { connection_string: 'postgres://irc:secret@localhost/irc' } });
    assert.equal(c('irc', 'replies', 'short_window_s'), 120);
    assert.equal(c('irc', 'mention_pills'), 'off');
    assert.deepEqual(c('irc', 'per_room_config'), { enabled: true, line_limit_max: 5, allow_unconnected_matrix_users: false });
    assert.deepEqual(c('irc', 'provisioning', 'rules', 'conflict'), ['@oldirc_.*']);
    assert.deepEqual(c('provisioning', 'openid', 'overrides'), { 'chat.example.lan': 'http://10.0.0.5:8008' });
  });

  it('names every key it could not carry over', () => {
    for (const key of [
      'homeserver.enablePresence',
      'RMAUlimit',
      'passwordEncryptionKeyPath',
      'provisioning.secret',
      'kickReason',
      'dynamicChannels.whitelist',
      'matrixClients.joinAttempts',
      'eventCacheSize',
      'errfile',
      'database',
      'metrics.host',
    ]) {
      assert.ok(
        notes.some((n) => n.includes(key)),
        `a note names ${key}:\n${notes.join('\n')}`,
      );
    }
  });

  it("the result validates as this bridge's config", () => {
    assert.doesNotThrow(() => validateConfig(config, { key: 'irc', schema: IrcConfigSchema }));
  });

  it('the command writes the file with the notes and problems on top, and never overwrites', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'causeway-migrate-'));
    try {
      const maiFile = path.join(dir, 'mai.yaml');
      const outFile = path.join(dir, 'config.yaml');
      writeFileSync(maiFile, MAI_YAML);
      const errs: string[] = [];
      const io = {
        stdout: () => undefined,
        stderr: (t: string) => {
          errs.push(t);
        },
      };
      assert.equal(await migrateMaiConfigCommand.run([maiFile, '-o', outFile], io), 0);
      const text = readFileSync(outFile, 'utf8');
      assert.match(text, /^# Converted from /);
      assert.doesNotMatch(text, /Still to fix/);
      assert.match(text, /# {3}- ircService\.RMAUlimit: not carried over/);
      const written: unknown = parse(text);
      assert.equal(at(written, 'irc', 'servers', 'irc.libera.chat', 'port'), 6697);
      assert.equal(
        asObject(at(written, 'irc', 'servers', 'irc.libera.chat', 'clients'), 'clients').deaf_mode,
        undefined,
        'only what was carried over, not every default',
      );
      assert.equal(await migrateMaiConfigCommand.run([maiFile, '-o', outFile], io), 1, 'an existing file is kept');
      assert.ok(errs.some((e) => /exists; not overwriting/.test(e)));
      // What MAI did not require but this bridge does is named by key.
      writeFileSync(maiFile, MAI_YAML.replace('  url: "https://matrix.example.org"\n', ''));
      const stdout: string[] = [];
      assert.equal(
        await migrateMaiConfigCommand.run([maiFile], {
          stdout: (t) => {
            stdout.push(t);
          },
          stderr: () => undefined,
        }),
        0,
      );
      assert.match(stdout.join(''), /# Still to fix before the bridge starts:\n# {3}- homeserver\.url/);
      writeFileSync(maiFile, 'homeserver: [unclosed');
      assert.equal(await migrateMaiConfigCommand.run([maiFile], io), 1);
      assert.ok(errs.some((e) => /Could not read .* as YAML/.test(e)));
      assert.equal(await migrateMaiConfigCommand.run([], io), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
