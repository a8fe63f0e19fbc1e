import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStore } from '@causeway/bridge-core/tools';
import { storedInQueue } from '../src/queue-log';

describe('harness: storedInQueue (the embedded store’s queue log, read from the data directory)', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(path.join(tmpdir(), 'causeway-queue-log-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('gives the values the real store still holds, per queue, oldest first', async () => {
    const store = createStore({ engine: 'nedb', directory: path.join(dataDir, 'db') });
    await store.init();
    try {
      const lines = await store.queues.append('lines', 'alice', ['l0', 'l1', 'l2']);
      await store.queues.append('lines', 'bob', ['l3']);
      await store.queues.append('events', 'room', [{ n: 1 }]);
      await store.queues.markAttempted('lines', [lines[0].seq]);
      await store.queues.remove('lines', [lines[1].seq]);
      assert.deepEqual(storedInQueue(dataDir, 'lines'), ['l0', 'l2', 'l3']);
      assert.deepEqual(storedInQueue(dataDir, 'events'), [{ n: 1 }]);
      assert.deepEqual(storedInQueue(dataDir, 'other'), []);
    } finally {
      await store.close();
    }
    // A line the bridge was writing when it was killed is passed over.
    appendFileSync(path.join(dataDir, 'db', 'queues.db'), '{"a":"lines","k":"alice","s":9');
    assert.deepEqual(storedInQueue(dataDir, 'lines'), ['l0', 'l2', 'l3']);
  });

  it('is empty before the bridge has written a queue log', () => {
    assert.deepEqual(storedInQueue(dataDir, 'lines'), []);
  });
});
