/**
 * Per-user IRC passwords, stored encrypted at rest (AES-256-GCM) in the
 * connector's KV store. IRC needs the plaintext at connect time, so this is
 * reversible encryption with a key kept outside the database: a configured
 * key file, or one generated into the data dir on first use (mode 0600).
 * Passwords are never logged; only "stored"/"removed" facts are.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyValueRepository } from '@causeway/bridge-core';

const NAMESPACE = 'passwords';

interface Sealed {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

export class PasswordStore {
  private key: Buffer | null = null;

  constructor(
    private readonly kv: KeyValueRepository,
    /** `namespace`: the KV namespace of the records (default `passwords`); other per-user secrets reuse the same key and sealing. */
    private readonly opts: { keyFile?: string; dataDir: string; namespace?: string },
  ) {}

  private get namespace(): string {
    return this.opts.namespace ?? NAMESPACE;
  }

  /** Reads the key (raw 32 bytes or 64 hex chars); generates one when no key file is configured. */
  private loadKey(): Buffer {
    if (this.key) return this.key;
    const file = this.opts.keyFile ?? path.join(this.opts.dataDir, 'irc-passwords.key');
    if (!existsSync(file)) {
      if (this.opts.keyFile) throw new Error(`password key file ${file} does not exist`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    }
    const raw = readFileSync(file);
    const text = raw.toString('utf8').trim();
    const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : raw;
    if (key.length !== 32) throw new Error(`password key file ${file} must hold 32 bytes or 64 hex characters`);
    this.key = key;
    return key;
  }

  private id(network: string, userId: string): string {
    return `${network}\u0000${userId}`;
  }

  async set(network: string, userId: string, password: string): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.loadKey(), iv);
    // The record's identity is bound as associated data: a sealed value copied to another user fails to open.
    cipher.setAAD(Buffer.from(this.id(network, userId)));
    const data = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
    const sealed: Sealed = { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    await this.kv.put(this.namespace, this.id(network, userId), sealed);
  }

  async get(network: string, userId: string): Promise<string | undefined> {
    const sealed = await this.kv.get<Sealed>(this.namespace, this.id(network, userId));
    if (!sealed) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.loadKey(), Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(this.id(network, userId)));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  }

  remove(network: string, userId: string): Promise<boolean> {
    return this.kv.delete(this.namespace, this.id(network, userId));
  }
}
