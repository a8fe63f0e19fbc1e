import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configureLogging, getLogger } from '../../src/logging/logger';

describe('logging to a file', () => {
  let dir: string;
  let oldMask: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-log-'));
    oldMask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(oldMask);
    configureLogging();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the log file 0600 and its directory 0700 under umask 022, and writes to it', async () => {
    const file = path.join(dir, 'logs', 'bridge.log');
    configureLogging({ file, level: 'info' });
    getLogger('spec').error('a line for the file');
    for (let i = 0; i < 50 && !(fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('a line for the file')); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(fs.readFileSync(file, 'utf8'), /a line for the file/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  });
});
