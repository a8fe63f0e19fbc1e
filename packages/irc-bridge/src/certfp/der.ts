/**
 * The few DER (ASN.1 Distinguished Encoding Rules, X.690) encoders a
 * self-signed X.509 certificate needs. Node's crypto can make keys and
 * signatures but not certificates, and a certificate is only a signed
 * DER structure, so these ~60 lines spare an `openssl` child process.
 * Only definite, minimal-length encodings are produced, as DER requires.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag, length, value. */
export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(value.length), value]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
export const octetString = (v: Buffer): Buffer => tlv(0x04, v);
export const utf8String = (v: string): Buffer => tlv(0x0c, Buffer.from(v, 'utf8'));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (v: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), v]));
/** `[n]` EXPLICIT, constructed context-specific tag. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes: leading zeros dropped, one added if the top bit is set. */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return tlv(0x02, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : Buffer.from(v));
}

export const smallInteger = (n: number): Buffer => unsignedInteger(Buffer.from([n]));

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050, always in UTC to the second. */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2024-05-01T12:34:56.789Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z'; // 20240501123456Z
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}
