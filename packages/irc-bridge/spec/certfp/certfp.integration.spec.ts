/**
 * The parts behind `!certfp`: the pure-Node certificate generator (checked by Node's and
 * OpenSSL's X.509 parsers), the credential choice for a user's connection, and an optional SASL
 * EXTERNAL attempt against a real InspIRCd that offers no SASL (the user still connects).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { generateClientCertificate, KEY_TYPES } from '../../src/certfp/self-signed';
import { fingerprintsOf } from '../../src/certfp/fingerprint';
import { credentialsFor } from '../../src/network/credentials';
import type { ServerConfig } from '../../src/config-schema';
import type { StoredCertificate } from '../../src/certfp/store';
import { IrcConnection } from '../../src/irc/connection';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { OPENSSL_BINARY } from '@causeway/testing';

describe('irc-bridge: client certificates for CertFP', function () {
  this.timeout(30_000);

  describe('generator', () => {
    for (const keyType of KEY_TYPES) {
      it(`${keyType}: a valid self-signed v3 client certificate matching its key`, async () => {
        const now = new Date('2031-03-04T05:06:07Z');
        const g = await generateClientCertificate({ keyType, commonName: 'Causeway test', now, days: 30 });
        const x = new X509Certificate(g.certificate);
        assert.equal(x.subject, 'CN=Causeway test');
        assert.equal(x.issuer, x.subject);
        assert.ok(x.verify(x.publicKey), 'self-signature verifies');
        assert.ok(x.checkPrivateKey(createPrivateKey(g.privateKey)), 'certificate and key belong together');
        assert.equal(new Date(x.validFrom).toISOString(), '2031-03-04T04:06:07.000Z');
        assert.equal(new Date(x.validTo).toISOString(), '2031-04-03T05:06:07.000Z');
        assert.equal(x.ca, false);
        assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2']);
        assert.equal(createPublicKey(g.privateKey).asymmetricKeyType, keyType === 'ecdsa' ? 'ec' : keyType);
        // OpenSSL's own parser and signature check agree.
        const dir = mkdtempSync(path.join(tmpdir(), 'certfp-'));
        try {
          const file = path.join(dir, 'c.pem');
          writeFileSync(file, g.certificate);
          const text = execFileSync(OPENSSL_BINARY, ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
          assert.match(text, /Version: 3 \(0x2\)/);
          assert.match(text, /TLS Web Client Authentication/);
          const der = execFileSync(OPENSSL_BINARY, ['x509', '-in', file, '-outform', 'DER']);
          assert.equal(fingerprintsOf(g.certificate).sha256, createHash('sha256').update(der).digest('hex'));
          execFileSync(
            OPENSSL_BINARY,
            ['verify', '-check_ss_sig', '-partial_chain', '-attime', String(now.getTime() / 1000), '-CAfile', file, file],
            { stdio: 'pipe' },
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    it('validity past 2049 is written as GeneralizedTime (RFC 5280) and read back exactly', async () => {
      const g = await generateClientCertificate({ commonName: 'x', now: new Date('2045-06-01T00:00:00Z'), days: 3650 });
      assert.equal(new Date(new X509Certificate(g.certificate).validTo).toISOString(), '2055-05-30T00:00:00.000Z');
    });

    it('every certificate is new: fresh key and serial, so a fresh fingerprint', async () => {
      const [a, b] = await Promise.all([generateClientCertificate({ commonName: 'x' }), generateClientCertificate({ commonName: 'x' })]);
      assert.notEqual(fingerprintsOf(a.certificate).sha256, fingerprintsOf(b.certificate).sha256);
      assert.notEqual(new X509Certificate(a.certificate).serialNumber, new X509Certificate(b.certificate).serialNumber);
      assert.match(fingerprintsOf(a.certificate).sha512, /^[0-9a-f]{128}$/);
    });
  });

  describe('which credentials a user connection uses', () => {
    const own: StoredCertificate = {
      privateKey: 'USER KEY',
      certificate: 'USER CERT',
      keyType: 'ecdsa',
      createdAt: '2024-01-01T00:00:00Z',
    };
    const networkCert = { privateKey: 'NET KEY', certificate: 'NET CERT' };
    const cfg = (tls: boolean, sasl?: 'plain' | 'external') =>
      ({ tls: { enabled: tls, allow_self_signed: false }, ...(sasl ? { sasl: { mechanism: sasl } } : {}) }) as ServerConfig;

    it('own certificate on a TLS network: presented, SASL EXTERNAL tried optionally, preferred over a stored password for SASL', () => {
      const c = credentialsFor(cfg(true, 'plain'), 'nick', { password: 'acct:pw', certificate: own }, () => networkCert);
      assert.deepEqual(c, {
        clientCertificate: { certificate: 'USER CERT', privateKey: 'USER KEY' },
        sasl: { mechanism: 'EXTERNAL', optional: true },
      });
      // The network's `sasl: external` with its own certificate gives way to the user's.
      assert.deepEqual(
        credentialsFor(cfg(true, 'external'), 'nick', { certificate: own }, () => networkCert).clientCertificate?.certificate,
        'USER CERT',
      );
    });

    it('own certificate on a network without `sasl`: the stored password is still sent as PASS', () => {
      const c = credentialsFor(cfg(true), 'nick', { password: 'pw', certificate: own }, () => undefined);
      assert.equal(c.password, 'pw');
      assert.deepEqual(c.sasl, { mechanism: 'EXTERNAL', optional: true });
    });

    it('own certificate on a network without TLS: not presented; the network settings apply as before', () => {
      assert.deepEqual(
        credentialsFor(cfg(false, 'plain'), 'nick', { password: 'acct:pw', certificate: own }, () => undefined),
        { sasl: { mechanism: 'PLAIN', account: 'acct', password: 'pw' } },
      );
      assert.deepEqual(
        credentialsFor(cfg(false), 'nick', { password: 'pw', certificate: own }, () => undefined),
        { password: 'pw' },
      );
    });

    it('no own certificate: the network-wide one, with required SASL EXTERNAL when configured', () => {
      assert.deepEqual(
        credentialsFor(cfg(true, 'external'), 'nick', {}, () => networkCert),
        { sasl: { mechanism: 'EXTERNAL' }, clientCertificate: networkCert },
      );
      assert.deepEqual(
        credentialsFor(cfg(true, 'plain'), 'nick', { password: 'pw' }, () => networkCert),
        { sasl: { mechanism: 'PLAIN', account: 'nick', password: 'pw' }, clientCertificate: networkCert },
      );
    });
  });

  describe('optional SASL EXTERNAL against a server without SASL (real InspIRCd)', () => {
    let h: InspircdHandle;
    const open: IrcConnection[] = [];
    before(async () => {
      h = await startInspircd();
    });
    after(async () => {
      await Promise.all(open.map((c) => c.quit().catch(() => undefined)));
      await h?.dispose();
    });

    it('registers without an account and reports why, where required SASL fails the connection', async () => {
      const optional = new IrcConnection({
        host: h.host,
        port: h.port,
        nick: 'certopt',
        username: 'u',
        realname: 'r',
        sasl: { mechanism: 'EXTERNAL', optional: true },
      });
      open.push(optional);
      const outcomes: unknown[] = [];
      optional.on('sasl', (ev) => outcomes.push(ev));
      const ev = await optional.connect();
      assert.equal(ev.nick, 'certopt');
      assert.deepEqual(outcomes, [{ ok: false, reason: 'capability_missing', detail: undefined }]);

      const required = new IrcConnection({
        host: h.host,
        port: h.port,
        nick: 'certreq',
        username: 'u',
        realname: 'r',
        sasl: { mechanism: 'EXTERNAL' },
      });
      open.push(required);
      await assert.rejects(required.connect(), (err: Error & { disconnect?: { kind: string } }) => err.disconnect?.kind === 'sasl_failed');
    });
  });
});
