/**
 * CertFP fingerprints: a hash of the DER certificate, in the form services
 * store and `CERT ADD <fingerprint>` takes (lowercase hex, no colons).
 * SHA-256 is what InspIRCd, Atheme, Anope and solanum use by default; some
 * networks (OFTC among them) also accept SHA-512.
 */
import { createHash, X509Certificate } from 'node:crypto';

export interface Fingerprints {
  sha256: string;
  sha512: string;
}

export function fingerprintsOf(certificatePem: string): Fingerprints {
  const der = new X509Certificate(certificatePem).raw;
  return {
    sha256: createHash('sha256').update(der).digest('hex'),
    sha512: createHash('sha512').update(der).digest('hex'),
  };
}
