/**
 * The core's SecretStore: AES-256-GCM with a key kept outside the database (a configured key file,
 * or one generated into the data dir on first use, mode 0600), records in the connector's
 * key-value namespace. Connectors need the plaintext again (IRC sends the password at connect
 * time, Slack and Gitter puppets call the API with the user's token), so this is reversible
 * encryption, not hashing. Only "stored"/"removed" facts may be logged, never values.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyValueRepository } from '../connector/key-value';
import type { SecretStore } from '../connector/secrets';

interface Sealed {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

/** Reads (or, when `generate`, creates) a 32-byte key file; one key per file, shared by every store using it. */
export class SecretKey {
  private key: Buffer | undefined;
  constructor(
    private readonly file: string,
    private readonly generate: boolean,
  ) {}

  get(): Buffer {
    if (this.key) return this.key;
    if (!existsSync(this.file)) {
      if (!this.generate) throw new Error(`secret key file ${this.file} does not exist`);
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      writeFileSync(this.file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    }
    const raw = readFileSync(this.file);
    const text = raw.toString('utf8').trim();
    const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : raw;
    if (key.length !== 32) throw new Error(`secret key file ${this.file} must hold 32 bytes or 64 hex characters`);
    this.key = key;
    return key;
  }
}

export class SealedSecretStore implements SecretStore {
  constructor(
    private readonly kv: KeyValueRepository,
    private readonly namespace: string,
    private readonly key: SecretKey,
  ) {}

  private id(scope: string, userId: string): string {
    return `${scope}\u0000${userId}`;
  }

  async set(scope: string, userId: string, secret: string): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key.get(), iv);
    cipher.setAAD(Buffer.from(this.id(scope, userId)));
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const sealed: Sealed = { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    await this.kv.put(this.namespace, this.id(scope, userId), sealed);
  }

  async get(scope: string, userId: string): Promise<string | undefined> {
    const sealed = await this.kv.get<Sealed>(this.namespace, this.id(scope, userId));
    if (!sealed) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.key.get(), Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(this.id(scope, userId)));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  }

  remove(scope: string, userId: string): Promise<boolean> {
    return this.kv.delete(this.namespace, this.id(scope, userId));
  }
}
