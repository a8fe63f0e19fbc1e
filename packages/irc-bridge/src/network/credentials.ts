/**
 * How a Matrix user's connection authenticates, from the network's config and
 * what the user stored (`!storepass`, `!certfp generate`).
 *
 * A user's own certificate wins, on TLS networks (there is no certificate
 * without TLS): it is presented, and SASL EXTERNAL is tried with it. The try
 * is optional: when the server has no SASL EXTERNAL (many networks log
 * CertFP users in on connect without SASL) or does not know the certificate
 * yet (the user still has to `CERT ADD` it, from this very connection), the
 * user connects without an account instead of being locked out. A stored
 * password is then not used for SASL PLAIN, since one SASL mechanism is
 * negotiated per connection; it is still sent as PASS on networks without
 * `sasl`, where PASS is the server password or a services login of its own.
 *
 * Without a certificate of their own, the network's settings apply as before:
 * `sasl: external` with the network-wide certificate, `sasl: plain` with the
 * stored password, else the stored password as PASS; the network-wide
 * certificate, if configured, is presented either way.
 */
import type { UserConnectionOptions } from '../irc';
import type { ServerConfig } from '../config-schema';
import type { StoredCertificate } from '../certfp/store';

export type ClientCertificate = NonNullable<UserConnectionOptions['clientCertificate']>;
export type Credentials = Pick<UserConnectionOptions, 'sasl' | 'password' | 'clientCertificate'>;

export interface StoredCredentials {
  password?: string;
  certificate?: StoredCertificate;
}

/** Whether a user's own certificate is presented on this network. */
export function usesOwnCertificate(cfg: ServerConfig, stored: StoredCredentials): boolean {
  return !!stored.certificate && cfg.tls.enabled;
}

export function credentialsFor(
  cfg: ServerConfig,
  nick: string,
  stored: StoredCredentials,
  networkCertificate: () => ClientCertificate | undefined,
): Credentials {
  if (usesOwnCertificate(cfg, stored)) {
    const { certificate, privateKey } = stored.certificate!;
    return {
      clientCertificate: { certificate, privateKey },
      sasl: { mechanism: 'EXTERNAL', optional: true },
      ...(!cfg.sasl && stored.password ? { password: stored.password } : {}),
    };
  }
  const out: Credentials = {};
  const password = stored.password;
  if (cfg.sasl?.mechanism === 'external') {
    out.sasl = { mechanism: 'EXTERNAL' };
  } else if (cfg.sasl?.mechanism === 'plain' && password) {
    // `!storepass account:password` names the account; otherwise it is the nick.
    const i = password.indexOf(':');
    out.sasl =
      i > 0
        ? { mechanism: 'PLAIN', account: password.slice(0, i), password: password.slice(i + 1) }
        : { mechanism: 'PLAIN', account: nick, password };
  } else if (password) {
    out.password = password;
  }
  const cert = networkCertificate();
  if (cert) out.clientCertificate = cert;
  return out;
}
