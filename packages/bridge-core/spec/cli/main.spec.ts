import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliOptions, type StartContext } from '../../src/cli/main';
import { parseArgs, UsageError } from '../../src/cli/args';
import { loadRegistration } from '../../src/appservice/registration';
import { testProtocol, TestConnectorSchema, minimalConfig } from '../config/fixtures/protocol';

interface Captured {
  out: string[];
  err: string[];
  exits: number[];
  signals: EventEmitter;
}

function harness(extra: Partial<CliOptions> = {}): { opts: CliOptions; cap: Captured } {
  const cap: Captured = { out: [], err: [], exits: [], signals: new EventEmitter() };
  const opts: CliOptions = {
    protocol: testProtocol,
    connectorConfigKey: 'test',
    connectorSchema: TestConnectorSchema,
    version: '1.2.3',
    start: async () => ({ stop: async () => undefined }),
    io: { stdout: (t) => cap.out.push(t), stderr: (t) => cap.err.push(t), exit: (c) => cap.exits.push(c), signals: cap.signals },
    ...extra,
  };
  return { opts, cap };
}

describe('command line', () => {
  let dir: string;
  let config: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'causeway-cli-'));
    config = path.join(dir, 'config.yaml');
    writeFileSync(config, minimalConfig + `appservice:\n  registration: ${path.join(dir, 'registration.yaml')}\n`);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('argument parsing', () => {
    it('understands the familiar flags', () => {
      assert.deepEqual(parseArgs(['-r', '-u', 'http://x:1', '-f', 'r.yaml', '-c', 'c.yaml']), {
        command: 'generate-registration',
        config: 'c.yaml',
        url: 'http://x:1',
        file: 'r.yaml',
        forceNewTokens: false,
      });
      assert.deepEqual(parseArgs(['generate-registration', '--url=http://x', '--force-new-tokens']), {
        command: 'generate-registration',
        config: './config.yaml',
        url: 'http://x',
        forceNewTokens: true,
      });
      assert.equal(parseArgs(['-p', '8000']).port, 8000);
      assert.equal(parseArgs([]).command, 'run');
      assert.equal(parseArgs(['validate-config', '-c', 'x']).command, 'validate-config');
      assert.equal(parseArgs(['--help']).command, 'help');
      assert.equal(parseArgs(['--version']).command, 'version');
    });

    it('rejects what it does not understand', () => {
      for (const argv of [
        ['--bogus'],
        ['-p', 'abc'],
        ['-p', '70000'],
        ['-u'],
        ['-u', 'ftp://x'],
        ['extra'],
        ['--force-new-tokens'],
        ['validate-config', '-r'],
      ]) {
        assert.throws(() => parseArgs(argv), UsageError, argv.join(' '));
      }
    });
  });

  it('-r -u URL -f FILE writes the registration and prints the homeserver lines', async () => {
    const { opts, cap } = harness();
    const file = path.join(dir, 'out', 'reg.yaml');
    const code = await runCli(['-r', '-u', 'http://x', '-f', file, '-c', config], opts);
    assert.equal(code, 0);
    assert.deepEqual(cap.exits, [0]);
    assert.ok(existsSync(file));
    const reg = loadRegistration(file);
    assert.equal(reg.url, 'http://x');
    assert.equal(reg.sender_localpart, '_test_bot');
    const text = cap.out.join('\n');
    assert.match(text, /app_service_config_files:\n\s+- \/.*reg\.yaml/);
    assert.ok(!text.includes(reg.as_token), 'tokens are not printed');

    const again = harness();
    await runCli(['-r', '-u', 'http://x', '-f', file, '-c', config], again.opts);
    assert.match(again.cap.out.join('\n'), /already up to date/);
    assert.equal(loadRegistration(file).as_token, reg.as_token);

    const rotate = harness();
    await runCli(['-r', '-u', 'http://x', '-f', file, '-c', config, '--force-new-tokens'], rotate.opts);
    assert.notEqual(loadRegistration(file).as_token, reg.as_token);
    assert.match(rotate.cap.out.join('\n'), /New tokens were issued/);
  });

  it('-r without a URL anywhere is a usage error', async () => {
    const { opts, cap } = harness();
    assert.equal(await runCli(['-r', '-c', config], opts), 2);
    assert.match(cap.err.join('\n'), /-u URL/);
  });

  it('validate-config: 0 and OK when valid, 1 with every problem otherwise', async () => {
    const ok = harness();
    assert.equal(await runCli(['validate-config', '-c', config], ok.opts), 0);
    assert.match(ok.cap.out.join('\n'), /^OK: /);

    writeFileSync(config, minimalConfig + 'appservice: {prot: 1}\ntest: {servers: {x: {port: "a"}}}\n');
    const bad = harness();
    assert.equal(await runCli(['validate-config', '-c', config], bad.opts), 1);
    assert.deepEqual(bad.cap.exits, [1]);
    const err = bad.cap.err.join('\n');
    assert.match(err, /appservice\.prot: unknown key \(did you mean "port"\?\)/);
    assert.match(err, /test\.servers\.x\.host: required value missing/);
    assert.match(err, /test\.servers\.x\.port: wrong type \(expected an integer, got a string\)/);

    const missing = harness();
    assert.equal(await runCli(['validate-config', '-c', path.join(dir, 'nope.yaml')], missing.opts), 1);
  });

  it('usage errors exit 2; --help and --version exit 0', async () => {
    const u = harness();
    assert.equal(await runCli(['--frobnicate'], u.opts), 2);
    assert.match(u.cap.err.join('\n'), /unknown option --frobnicate[\s\S]*Usage:/);
    const h = harness();
    assert.equal(await runCli(['--help'], h.opts), 0);
    assert.match(h.cap.out.join('\n'), /generate-registration/);
    const v = harness();
    assert.equal(await runCli(['--version'], v.opts), 0);
    assert.deepEqual(v.cap.out, ['test-bridge 1.2.3']);
  });

  it("runs a connector's own command with its arguments and exit code, and lists it in the usage", async () => {
    const seen: string[][] = [];
    const commands = [
      {
        name: 'import-old',
        args: 'FILE',
        summary: 'Import an old config',
        async run(argv: readonly string[], io: { stdout(t: string): void }) {
          seen.push([...argv]);
          io.stdout('imported');
          return argv.length ? 0 : 2;
        },
      },
    ];
    const a = harness({ commands });
    assert.equal(await runCli(['import-old', 'old.yaml', '-o', 'x'], a.opts), 0);
    assert.deepEqual(seen, [['old.yaml', '-o', 'x']]);
    assert.deepEqual(a.cap.out, ['imported']);
    assert.deepEqual(a.cap.exits, [0]);
    const b = harness({ commands });
    assert.equal(await runCli(['import-old'], b.opts), 2);
    const h = harness({ commands });
    await runCli(['--help'], h.opts);
    assert.match(h.cap.out.join('\n'), /import-old FILE\s+Import an old config/);
  });

  it('config-reference prints core and connector options', async () => {
    const { opts, cap } = harness();
    assert.equal(await runCli(['config-reference'], opts), 0);
    const md = cap.out.join('\n');
    assert.match(md, /\| `appservice\.port` \| integer \| `9898` \|/);
    assert.match(md, /\| `test\.servers\.<name>\.port` \| integer \| `6697` \|/);
  });

  it('run: generates a missing registration, starts, and stops on SIGTERM', async () => {
    let started: StartContext | undefined;
    let stopped = 0;
    const { opts, cap } = harness({
      start: async (ctx) => {
        started = ctx;
        return {
          stop: async () => {
            stopped++;
          },
        };
      },
    });
    const code = await runCli(['-c', config, '-p', '9555'], opts);
    assert.equal(code, 0);
    assert.deepEqual(cap.exits, [], 'no exit while running');
    assert.ok(started);
    assert.equal(started.core.appservice.port, 9555);
    assert.equal(started.registrationPath, path.join(dir, 'registration.yaml'));
    assert.equal(started.registration.url, 'http://127.0.0.1:9555');
    assert.deepEqual(started.connector, { servers: {} });
    assert.match(cap.out.join('\n'), /generated one at .*registration\.yaml[\s\S]*app_service_config_files/);

    cap.signals.emit('SIGTERM');
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, 1);
    assert.deepEqual(cap.exits, [0]);
    assert.equal(cap.signals.listenerCount('SIGTERM'), 0);
  });

  it('run: warns when the registration no longer matches the config, keeps going', async () => {
    const first = harness();
    await runCli(['-r', '-u', 'http://old:1', '-c', config], first.opts);
    const { opts, cap } = harness();
    assert.equal(await runCli(['-c', config], opts), 0);
    assert.match(cap.err.join('\n'), /does not match the config:\n\s+- url changed/);
    cap.signals.emit('SIGINT');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(cap.exits, [0]);
  });

  it('run: config errors exit 1 without starting', async () => {
    writeFileSync(config, 'homeserver: {url: nope}\n');
    let started = false;
    const { opts, cap } = harness({
      start: async () => {
        started = true;
        return { stop: async () => undefined };
      },
    });
    assert.equal(await runCli(['-c', config], opts), 1);
    assert.equal(started, false);
    assert.match(cap.err.join('\n'), /homeserver\.domain: required value missing/);
  });

  it('a real process exits with the documented codes', async function () {
    this.timeout(60000);
    const entry = path.join(__dirname, 'fixtures', 'cli-entry.ts');
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [require.resolve('tsx/cli'), entry, ...args], { cwd: dir }, (err, stdout, stderr) => {
          resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
        });
      });
    const [ok, bad, usage] = await Promise.all([
      run(['validate-config', '-c', config]),
      run(['validate-config', '-c', path.join(dir, 'missing.yaml')]),
      run(['--nope']),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^OK: /);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /missing\.yaml not found/);
    assert.equal(usage.code, 2, usage.stderr);
  });
});
