import { strict as assert } from 'node:assert';
import { LruMap } from '../../src/util/lru';

describe('LruMap', () => {
  it('keeps at most its capacity, evicting the least recently used and telling onEvict', () => {
    const evicted: Array<[string, number]> = [];
    const m = new LruMap<string, number>(2, (k, v) => evicted.push([k, v]));
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.get('a'), 1); // a is now the most recent
    m.set('c', 3);
    assert.deepEqual(evicted, [['b', 2]]);
    assert.deepEqual([...m.keys()], ['a', 'c']);
    assert.equal(m.size, 2);
  });

  it('peek reads without refreshing; set of a known key refreshes it without evicting', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.peek('a'), 1);
    m.set('c', 3); // a was only peeked: it goes
    assert.equal(m.has('a'), false);
    m.set('b', 20);
    m.set('d', 4); // b was set again after c: c goes
    assert.deepEqual([...m.keys()], ['b', 'd']);
    assert.equal(m.get('b'), 20);
  });

  it('delete and clear forget entries; a missing key reads undefined', () => {
    const m = new LruMap<string, number>(3);
    m.set('a', 1);
    assert.equal(m.delete('a'), true);
    assert.equal(m.delete('a'), false);
    assert.equal(m.get('a'), undefined);
    m.set('b', 2);
    m.clear();
    assert.equal(m.size, 0);
  });
});
