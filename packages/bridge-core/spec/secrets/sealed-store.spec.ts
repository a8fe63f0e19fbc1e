import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SealedSecretStore, SecretKey } from '../../src/secrets/sealed-store';
import type { KeyValueRepository } from '../../src/connector/key-value';

/** A KV repository in memory, exposing what was written so a spec can look at the stored bytes. */
function memoryKv(): KeyValueRepository & { raw: Map<string, unknown> } {
  const raw = new Map<string, unknown>();
  return {
    raw,
    get: async <T>(ns: string, k: string) => raw.get(`${ns}/${k}`) as T | undefined,
    put: async (ns: string, k: string, v: unknown) => {
      raw.set(`${ns}/${k}`, structuredClone(v));
    },
    delete: async (ns: string, k: string) => raw.delete(`${ns}/${k}`),
    list: async () => [],
  };
}

describe('bridge-core: sealed per-user secrets', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'causeway-secrets-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back what was stored, keeps no plaintext, and generates a private key file on first use', async () => {
    const kv = memoryKv();
    const keyFile = path.join(dir, 'sub', 'irc-passwords.key');
    const store = new SealedSecretStore(kv, 'passwords', new SecretKey(keyFile, true));
    await store.set('net', '@alice:example.org', 'hunter2-très-secret');
    assert.equal(await store.get('net', '@alice:example.org'), 'hunter2-très-secret');
    assert.ok(!JSON.stringify([...kv.raw.values()]).includes('hunter2'), 'the store holds no plaintext');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(await store.get('net', '@bob:example.org'), undefined);
    assert.equal(await store.remove('net', '@alice:example.org'), true);
    assert.equal(await store.get('net', '@alice:example.org'), undefined);
  });

  it('binds a record to its scope and user: a value copied to another user does not open', async () => {
    const kv = memoryKv();
    const store = new SealedSecretStore(kv, 'passwords', new SecretKey(path.join(dir, 'k'), true));
    await store.set('net', '@alice:example.org', 'alice-secret');
    kv.raw.set('passwords/net\u0000@mallory:example.org', kv.raw.get('passwords/net\u0000@alice:example.org'));
    await assert.rejects(store.get('net', '@mallory:example.org'));
  });

  it('opens with the same key after a restart, and not with another key', async () => {
    const kv = memoryKv();
    const keyFile = path.join(dir, 'k');
    await new SealedSecretStore(kv, 'passwords', new SecretKey(keyFile, true)).set('net', '@a:x', 's3cret');
    assert.equal(await new SealedSecretStore(kv, 'passwords', new SecretKey(keyFile, false)).get('net', '@a:x'), 's3cret');
    const other = path.join(dir, 'other');
    writeFileSync(other, 'ab'.repeat(32));
    await assert.rejects(new SealedSecretStore(kv, 'passwords', new SecretKey(other, false)).get('net', '@a:x'));
  });

  it('refuses a configured key file that is missing or of the wrong size, instead of making one up', async () => {
    const kv = memoryKv();
    const missing = path.join(dir, 'missing.key');
    await assert.rejects(new SealedSecretStore(kv, 'p', new SecretKey(missing, false)).set('n', '@a:x', 's'), /does not exist/);
    assert.equal(existsSync(missing), false);
    const short = path.join(dir, 'short.key');
    writeFileSync(short, 'too short');
    await assert.rejects(new SealedSecretStore(kv, 'p', new SecretKey(short, false)).set('n', '@a:x', 's'), /32 bytes or 64 hex/);
  });
});
