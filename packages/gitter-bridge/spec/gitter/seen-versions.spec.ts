import { strict as assert } from 'node:assert';
import { SeenVersions } from '../../src/gitter/seen-versions';

const id = (n: number) => n.toString(16).padStart(24, '0');

describe('gitter-bridge: SeenVersions', () => {
  it('admits each (id, v) once and only newer versions; a removed id admits nothing more', () => {
    const seen = new SeenVersions();
    assert.equal(seen.admit(id(1), 1), true);
    assert.equal(seen.admit(id(1), 1), false);
    assert.equal(seen.admit(id(1), 3), true);
    assert.equal(seen.admit(id(1), 2), false);
    assert.equal(seen.version(id(1)), 3);
    assert.equal(seen.remove(id(1)), true);
    assert.equal(seen.remove(id(1)), false);
    assert.equal(seen.admit(id(1), 4), false);
    assert.equal(seen.version(id(2)), undefined);
  });

  it('lists the main-line messages not removed in an id range (thread replies left out, as history does)', () => {
    const seen = new SeenVersions();
    seen.admit(id(1), 1);
    seen.admit(id(2), 1, { thread: true });
    seen.admit(id(3), 2);
    seen.admit(id(4), 1);
    seen.remove(id(4));
    seen.admit(id(5), 1);
    assert.deepEqual(seen.liveBetween(id(2), id(4)), [id(3)]);
    assert.deepEqual(seen.liveBetween(id(0), id(9)).sort(), [id(1), id(3), id(5)]);
  });

  it('saves the newest ids (by id) and restores them with thread marks, removals and authors', () => {
    const seen = new SeenVersions();
    seen.admit(id(3), 1, { author: 'alice' });
    seen.admit(id(1), 1);
    seen.admit(id(2), 1, { thread: true, author: 'bob' });
    seen.admit(id(4), 1, { author: 'carol' });
    seen.remove(id(4));
    seen.admit(id(1), 2); // touched last, but the oldest id
    const saved = seen.snapshot(3);
    assert.deepEqual(saved, [
      { id: id(2), v: 1, thread: true, by: 'bob' },
      { id: id(3), v: 1, by: 'alice' },
      { id: id(4), v: 'removed', by: 'carol' },
    ]);
    const restored = new SeenVersions(10, JSON.parse(JSON.stringify(saved)) as typeof saved);
    assert.equal(restored.admit(id(3), 1), false);
    assert.equal(restored.admit(id(4), 2), false, 'still removed');
    assert.equal(restored.author(id(2)), 'bob');
    assert.deepEqual(restored.liveBetween(id(0), id(9)), [id(3)]);
  });

  it('forgets the ids touched longest ago beyond its capacity', () => {
    const seen = new SeenVersions(2);
    seen.admit(id(1), 1);
    seen.admit(id(2), 1);
    seen.admit(id(1), 2);
    seen.admit(id(3), 1);
    assert.equal(seen.has(id(2)), false);
    assert.equal(seen.has(id(1)), true);
  });
});
