import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { warnAboutExposedDataFiles } from '../../src/runtime/exposed-files-warning';
import type { CoreConfig } from '../../src/config/schema';
import { captureLogger, type LogLine } from '../provisioning/helpers';

describe('bridge-core: the start-up warning about exposed data files', () => {
  it('lists only files others can reach in the start-up warning', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'causeway-exposed-'));
    try {
      const data = path.join(dir, 'data');
      fs.mkdirSync(path.join(data, 'journal'), { recursive: true, mode: 0o700 });
      fs.chmodSync(data, 0o700);
      fs.writeFileSync(path.join(data, 'kv.db'), 'x', { mode: 0o644 });
      fs.writeFileSync(path.join(data, 'private.db'), 'x', { mode: 0o600 });
      fs.writeFileSync(path.join(dir, 'registration.yaml'), 'x', { mode: 0o640 });
      fs.chmodSync(path.join(data, 'kv.db'), 0o644);
      fs.chmodSync(path.join(dir, 'registration.yaml'), 0o640);
      const logFile = path.join(dir, 'logs', 'bridge.log');
      fs.mkdirSync(path.dirname(logFile), { mode: 0o700 });
      fs.writeFileSync(logFile, 'x');
      fs.chmodSync(logFile, 0o644);
      const lines: LogLine[] = [];
      const config = {
        data_dir: data,
        appservice: { registration: path.join(dir, 'registration.yaml') },
        database: { engine: 'nedb', nedb: { directory: data } },
        logging: { file: logFile },
      } as unknown as CoreConfig;
      await warnAboutExposedDataFiles(config, captureLogger(lines));
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, 'warn');
      assert.match(lines[0].msg, new RegExp(`${path.join(data, 'kv.db')} \\(0644\\)`));
      assert.match(lines[0].msg, new RegExp(`${path.join(dir, 'registration.yaml')} \\(0640\\)`));
      assert.match(lines[0].msg, new RegExp(`${logFile} \\(0644\\)`));
      assert.doesNotMatch(lines[0].msg, /private\.db|journal/);
      fs.chmodSync(path.join(data, 'kv.db'), 0o600);
      fs.chmodSync(logFile, 0o600);
      fs.chmodSync(path.join(dir, 'registration.yaml'), 0o600);
      const none: LogLine[] = [];
      await warnAboutExposedDataFiles(config, captureLogger(none));
      assert.deepEqual(none, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
