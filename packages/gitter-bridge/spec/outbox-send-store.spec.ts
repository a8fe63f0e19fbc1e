/**
 * The send queue's durable store (outbox-send-store.ts) across a restart, on the embedded store's
 * files: what a send got is found again, and the room's newest sent id, where the search for a send
 * whose answer was lost starts, is the greatest one stored. Were it older, a send with the same
 * text as an earlier one could be matched to that earlier message and never posted; were it newer
 * than a stored send, that send would be posted twice.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DurableQueue, KeyValueRepository } from '@causeway/bridge-core';
import { connectorData, createStore } from '@causeway/bridge-core/tools';
import { OutboxSendStore, type StoredOp } from '../src/outbox-send-store';

type Store = ReturnType<typeof createStore>;

/** `ctx.outbox.queue('sends')` and `ctx.data`, as the bridge hands them to the connector. */
function connectorSide(store: Store): { queue: DurableQueue<StoredOp>; data: KeyValueRepository } {
  const name = 'connector.gitter.sends';
  const queue: DurableQueue<StoredOp> = {
    name,
    append: (key, values, opts) => store.queues.append(name, key, values, opts?.createdAt),
    list: (key, opts) => store.queues.list<StoredOp>(name, { ...(key === undefined ? {} : { key }), ...(opts ?? {}) }),
    markAttempted: (entries) =>
      store.queues.markAttempted(
        name,
        entries.map((e) => e.seq),
      ),
    remove: async (entries) => {
      await store.queues.remove(
        name,
        entries.map((e) => e.seq),
      );
    },
  };
  return { queue, data: connectorData(store.kv, 'gitter') };
}

describe('gitter-bridge: the send store across a restart', () => {
  let dir: string;
  let store: Store;
  const room = 'a'.repeat(24);
  const other = 'b'.repeat(24);
  // Gitter ids sort by creation time.
  const id = (n: number) => `5f00000000000000000000${String(n).padStart(2, '0')}`;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gitter-send-store-'));
    store = createStore({ engine: 'nedb', directory: dir });
    await store.init();
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const restart = async (): Promise<OutboxSendStore> => {
    await store.close();
    store = createStore({ engine: 'nedb', directory: dir });
    await store.init();
    const { queue, data } = connectorSide(store);
    return new OutboxSendStore(queue, data, 'relay');
  };

  it('after a restart, the newest sent id of a room is its greatest stored one, not another room’s', async () => {
    const { queue, data } = connectorSide(store);
    const before = new OutboxSendStore(queue, data, 'relay');
    await before.recordSent(room, '$first#0', id(1));
    await before.recordSent(room, '$second#0', id(2));
    await before.recordSent(other, '$elsewhere#0', id(9));
    assert.equal(await before.lastSentId(room), id(2));

    const after = await restart();
    assert.equal(await after.lastSentId(room), id(2));
    assert.equal(await after.lastSentId(other), id(9));
    assert.equal(await after.sentId(room, '$first#0'), id(1), 'a redelivered event finds what its send got');
    assert.equal(await after.lastSentId('c'.repeat(24)), undefined, 'nothing sent there');
  });

  it('a puppet’s sends and the relay’s are counted apart', async () => {
    const { queue, data } = connectorSide(store);
    await new OutboxSendStore(queue, data, 'relay').recordSent(room, '$relay#0', id(3));
    await new OutboxSendStore(queue, data, 'puppet:@alice:example.org').recordSent(room, '$alice#0', id(7));

    const relay = await restart();
    assert.equal(await relay.lastSentId(room), id(3));
    const { queue: q2, data: d2 } = connectorSide(store);
    assert.equal(await new OutboxSendStore(q2, d2, 'puppet:@alice:example.org').lastSentId(room), id(7));
  });

  it('a send without a reference, and the newest id as earlier versions stored it, count too', async () => {
    const { queue, data } = connectorSide(store);
    const before = new OutboxSendStore(queue, data, 'relay');
    await before.recordSent(room, '$first#0', id(1));
    await before.recordSent(room, undefined, id(4));
    // Written by a version that stored the newest id of every send apart.
    await data.put('last-sent', `relay|${other}`, id(6));

    const after = await restart();
    assert.equal(await after.lastSentId(room), id(4));
    assert.equal(await after.lastSentId(other), id(6));
  });

  it('a send recorded during the run moves the newest id on from what was read', async () => {
    const { queue, data } = connectorSide(store);
    await new OutboxSendStore(queue, data, 'relay').recordSent(room, '$first#0', id(1));
    const after = await restart();
    assert.equal(await after.lastSentId(room), id(1));
    await after.recordSent(room, '$second#0', id(5));
    assert.equal(await after.lastSentId(room), id(5));
  });
});
