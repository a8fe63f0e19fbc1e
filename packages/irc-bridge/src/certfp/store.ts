/**
 * Per-user client certificates (CertFP), one per user and network, sealed at
 * rest by the core exactly as stored passwords are (`ctx.secrets`, the same key
 * file, the record bound to its network and user): the private key is a login
 * credential on networks that accept CertFP. Key material is never logged.
 */
import type { SecretStore } from '@causeway/bridge-core';
import type { KeyType } from './self-signed';

/** The KV namespace of the sealed records (`ctx.secrets(CERTIFICATES_NAMESPACE, …)`). */
export const CERTIFICATES_NAMESPACE = 'client-certificates';

export interface StoredCertificate {
  /** PKCS#8 PEM private key. */
  privateKey: string;
  /** X.509 PEM certificate. */
  certificate: string;
  keyType: KeyType;
  /** ISO time of generation (shown by `!certfp show`). */
  createdAt: string;
}

export class ClientCertificateStore {
  constructor(private readonly sealed: SecretStore) {}

  set(network: string, userId: string, cert: StoredCertificate): Promise<void> {
    return this.sealed.set(network, userId, JSON.stringify(cert));
  }

  async get(network: string, userId: string): Promise<StoredCertificate | undefined> {
    const json = await this.sealed.get(network, userId);
    if (json === undefined) return undefined;
    try {
      return JSON.parse(json) as StoredCertificate;
    } catch {
      // JSON.parse quotes the text it choked on: never let key material reach an error message or log.
      throw new Error('stored client certificate is not readable');
    }
  }

  remove(network: string, userId: string): Promise<boolean> {
    return this.sealed.remove(network, userId);
  }
}
