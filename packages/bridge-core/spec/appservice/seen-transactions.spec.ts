import { strict as assert } from 'node:assert';
import { SeenTransactions, transactionIdentity, type SeenSnapshot } from '../../src/appservice/seen-transactions';
import { FifoSet } from '../../src/util/fifo-map';
import { ev } from './helpers';

describe('appservice: what identifies a transaction', () => {
  it('its timeline event IDs: not its bytes, not its ephemeral events', () => {
    const a = transactionIdentity({
      events: [ev('!r:hs', '$1', { unsigned: { age: 1 } }), ev('!r:hs', '$2')],
      ephemeral: [{ type: 'm.typing', room_id: '!r:hs', content: {} }],
    });
    const b = transactionIdentity({ events: [ev('!r:hs', '$1', { unsigned: { age: 9000 } }), ev('!r:hs', '$2')] });
    assert.equal(a.digest, b.digest);
    assert.deepEqual(a.eventIds, ['$1', '$2']);
    assert.notEqual(transactionIdentity({ events: [ev('!r:hs', '$2'), ev('!r:hs', '$1')] }).digest, a.digest, 'order counts');
    assert.notEqual(transactionIdentity({ events: [ev('!r:hs', '$1')] }).digest, a.digest);
  });

  it('a transaction of ephemeral events only is named by their content', () => {
    const typing = (ids: string[]) => ({ events: [], ephemeral: [{ type: 'm.typing', room_id: '!r:hs', content: { user_ids: ids } }] });
    assert.equal(transactionIdentity(typing(['@a:hs'])).digest, transactionIdentity(typing(['@a:hs'])).digest);
    assert.notEqual(transactionIdentity(typing(['@a:hs'])).digest, transactionIdentity(typing([])).digest);
    assert.notEqual(transactionIdentity(typing([])).digest, transactionIdentity({ events: [] }).digest);
  });

  it('SeenTransactions: a retry is the same txnId with the same digest; forgetting undoes remembering', () => {
    const s = new SeenTransactions({ maxTxns: 2, maxEvents: 3 });
    s.remember('1', 'd1', ['$a', '$b']);
    assert.equal(s.isRetry('1', 'd1'), true);
    assert.equal(s.isRetry('1', 'd2'), false);
    s.remember('1', 'd2', ['$c']);
    assert.equal(s.isRetry('1', 'd1'), false, 'a reused txnId now stands for its new events');
    s.remember('2', 'x', []);
    s.remember('3', 'y', ['$d']);
    assert.deepEqual([s.hasTxn('1'), s.hasTxn('2'), s.hasTxn('3')], [false, true, true], 'the oldest txnId went');
    assert.deepEqual(
      ['$a', '$b', '$c', '$d'].map((e) => s.hasEvent(e)),
      [false, true, true, true],
    );
    s.forget('3', ['$d']);
    assert.deepEqual([s.hasTxn('3'), s.hasEvent('$d')], [false, false]);
    const copy = new SeenTransactions({ maxTxns: 2, maxEvents: 3 });
    // Through JSON as the journal stores it: what went in was a SeenSnapshot, so that is what comes out.
    copy.restore(JSON.parse(JSON.stringify(s.snapshot())) as SeenSnapshot);
    assert.deepEqual(copy.snapshot(), s.snapshot());
  });

  it('FifoSet forgets the oldest in insertion order, a re-added key counting as new, through many compactions', () => {
    const f = new FifoSet(100);
    for (let i = 0; i < 50_000; i++) {
      f.add(`k${i}`);
      if (i % 7 === 0) f.add(`k${i - 50}`); // re-added: most recent again
      if (i % 11 === 0) f.delete(`k${i - 3}`);
    }
    assert.equal(f.size, 100);
    const kept = [...f.values()];
    assert.equal(kept.length, 100);
    assert.equal(new Set(kept).size, 100);
    assert.equal(kept.at(-1), 'k49999');
    for (const k of kept) assert.ok(f.has(k));
  });
});
