import { strict as assert } from 'node:assert';
import type { KeyValueRepository } from '@causeway/bridge-core';
import { LoginStates } from '../../src/puppets/login-states';

/** ctx.data as the stores behave: an expired entry is invisible at once. */
class MemoryData implements KeyValueRepository {
  readonly entries = new Map<string, { value: unknown; expiresAt?: number }>();
  now = () => Date.now();
  private live(ns: string, key: string) {
    const e = this.entries.get(`${ns}/${key}`);
    return e && (e.expiresAt === undefined || e.expiresAt > this.now()) ? e : undefined;
  }
  get<T>(ns: string, key: string): Promise<T | undefined> {
    return Promise.resolve(this.live(ns, key)?.value as T | undefined);
  }
  put<T>(ns: string, key: string, value: T, opts: { expiresAt?: number } = {}): Promise<void> {
    this.entries.set(`${ns}/${key}`, { value, ...opts });
    return Promise.resolve();
  }
  delete(ns: string, key: string): Promise<boolean> {
    const had = !!this.live(ns, key);
    this.entries.delete(`${ns}/${key}`);
    return Promise.resolve(had);
  }
  list<T>(): Promise<Array<{ key: string; value: T }>> {
    return Promise.resolve([]);
  }
}

describe('puppets: login states', () => {
  it('a state names who asked, once', async () => {
    const data = new MemoryData();
    const states = new LoginStates(data);
    const state = await states.issue({ userId: '@a:x', workspace: 'acme' }, 60_000);
    assert.match(state, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await states.take(state), { userId: '@a:x', workspace: 'acme' });
    assert.equal(await states.take(state), undefined);
  });

  it('stores only a digest of the state, never the state itself', async () => {
    const data = new MemoryData();
    const state = await new LoginStates(data).issue({ userId: '@a:x', workspace: 'acme' }, 60_000);
    assert.ok(![...data.entries.keys()].some((k) => k.includes(state)));
    assert.ok(!JSON.stringify([...data.entries.values()]).includes(state));
  });

  it('an expired, unknown or malformed state finds nothing', async () => {
    const data = new MemoryData();
    const states = new LoginStates(data);
    const state = await states.issue({ userId: '@a:x', workspace: 'acme' }, 60_000);
    const other = await states.issue({ userId: '@b:x', workspace: 'acme' }, 60_000);
    data.now = () => Date.now() + 61_000;
    assert.equal(await states.take(state), undefined);
    data.now = () => Date.now();
    assert.equal(await states.take(`${other.slice(0, -1)}${other.endsWith('A') ? 'B' : 'A'}`), undefined);
    for (const bad of ['', 'short', 'x'.repeat(200), '../../etc', 'a b c d e f g h i j k l m n o p'])
      assert.equal(await states.take(bad), undefined);
    assert.deepEqual(await states.take(other), { userId: '@b:x', workspace: 'acme' });
  });

  it('two callbacks with one state at once: one login', async () => {
    const states = new LoginStates(new MemoryData());
    const state = await states.issue({ userId: '@a:x', workspace: 'acme' }, 60_000);
    const got = await Promise.all([states.take(state), states.take(state)]);
    assert.equal(got.filter(Boolean).length, 1);
  });
});
