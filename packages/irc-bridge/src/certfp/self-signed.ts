/**
 * A fresh key pair and a self-signed X.509 v3 client certificate, made with
 * Node's crypto alone (RFC 5280 structure, encoded by ./der). IRC networks
 * identify a CertFP user by the hash of the certificate, never by who signed
 * it, so self-signed is what bouncers hand out too.
 *
 * ECDSA P-256 is the default: accepted by OpenSSL- and GnuTLS-based servers
 * alike, small and instant to generate. RSA (for old servers) and Ed25519 are
 * offered as well.
 */
import { generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import * as der from './der';

export const KEY_TYPES = ['ecdsa', 'rsa', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export interface GeneratedCertificate {
  /** PKCS#8 PEM. */
  privateKey: string;
  /** X.509 PEM. */
  certificate: string;
}

export interface CertificateRequest {
  keyType?: KeyType;
  commonName: string;
  /** Validity from now (default ten years; CertFP does not look at expiry, a renewal would change the fingerprint). */
  days?: number;
  now?: Date;
}

const generate = promisify(generateKeyPair);

/** The signature algorithm each key type signs with: its AlgorithmIdentifier and the digest for crypto.sign. */
const SIGNATURE: Record<KeyType, { algorithm: Buffer; digest: string | null }> = {
  // ecdsa-with-SHA256 (RFC 5758: parameters absent)
  ecdsa: { algorithm: der.sequence(der.oid('1.2.840.10045.4.3.2')), digest: 'sha256' },
  // sha256WithRSAEncryption (RFC 4055: parameters NULL)
  rsa: { algorithm: der.sequence(der.oid('1.2.840.113549.1.1.11'), der.nullValue()), digest: 'sha256' },
  // id-Ed25519 (RFC 8410: parameters absent; the message is signed as is)
  ed25519: { algorithm: der.sequence(der.oid('1.3.101.112')), digest: null },
};

async function keyPair(type: KeyType): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  if (type === 'ecdsa') return generate('ec', { namedCurve: 'prime256v1' });
  if (type === 'rsa') return generate('rsa', { modulusLength: 3072 });
  return generate('ed25519');
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

export async function generateClientCertificate(req: CertificateRequest): Promise<GeneratedCertificate> {
  const type = req.keyType ?? 'ecdsa';
  const { publicKey, privateKey } = await keyPair(type);
  const now = req.now ?? new Date();
  // An hour of slack for servers whose clock is behind ours.
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + (req.days ?? 3650) * 86400_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive and non-zero, at most 20 octets (RFC 5280 4.1.2.2)
  const name = der.sequence(der.set(der.sequence(der.oid('2.5.4.3'), der.utf8String(req.commonName))));
  const { algorithm, digest } = SIGNATURE[type];
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    algorithm,
    name, // issuer: self-signed
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name, // subject
    publicKey.export({ type: 'spki', format: 'der' }),
    der.explicit(
      3,
      der.sequence(
        extension('2.5.29.19', true, der.sequence()), // basicConstraints: not a CA
        extension('2.5.29.15', true, der.tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
        extension('2.5.29.37', false, der.sequence(der.oid('1.3.6.1.5.5.7.3.2'))), // extKeyUsage: clientAuth
      ),
    ),
  );
  const signature = sign(digest, tbs, privateKey);
  const cert = der.sequence(tbs, algorithm, der.bitString(signature));
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificate: toPem(cert, 'CERTIFICATE'),
  };
}

function toPem(body: Buffer, label: string): string {
  const b64 = body
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
