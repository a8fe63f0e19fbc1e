/**
 * A running bridge outlives a bug: an uncaught exception or unhandled rejection is logged and
 * the process goes on (Node's default ended it, and every network and user with it); only a
 * burst of uncaught exceptions, a loop that will not recover, ends it with code 1.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { minimalConfig } from '../config/fixtures/protocol';
import { BURST } from '../../src/cli/process-guard';

describe('bridge-core: errors nothing caught while the bridge runs', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'causeway-guard-'));
    config = path.join(dir, 'config.yaml');
    writeFileSync(config, minimalConfig + `appservice:\n  registration: ${path.join(dir, 'registration.yaml')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the faulty bridge; sends SIGTERM once it says it is still running (if it does). */
  const run = (faults: number) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [require.resolve('tsx/cli'), path.join(__dirname, 'fixtures', 'cli-faulty-entry.ts'), '-c', config],
        {
          cwd: dir,
          env: { ...process.env, FAULTS: String(faults), CAUSEWAY_LOG_LEVEL: 'error' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      const read = (d: Buffer) => {
        out += d.toString();
        if (out.includes('STILL RUNNING')) child.kill('SIGTERM');
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.on('exit', (code) => resolve({ code, out }));
    });

  it('logs an uncaught exception and an unhandled rejection, and keeps running', async () => {
    const { code, out } = await run(1);
    assert.match(out, /uncaught exception \(the bridge keeps running\).*thrown from a callback 0/);
    assert.match(out, /unhandled promise rejection \(the bridge keeps running\).*rejected with nobody waiting 0/);
    assert.match(out, /STILL RUNNING/);
    assert.equal(code, 0, out);
  });

  it('exits with code 1 on a burst of uncaught exceptions', async () => {
    const { code, out } = await run(BURST);
    assert.match(out, new RegExp(`uncaught exception, ${BURST} within 60 s: exiting`));
    assert.doesNotMatch(out, /STILL RUNNING/);
    assert.equal(code, 1, out);
  });
});
