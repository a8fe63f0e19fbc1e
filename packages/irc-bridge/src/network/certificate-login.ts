/**
 * What a user with their own client certificate is told about logging in
 * with it, so setting up CertFP is not guesswork (MAI #1483: nothing was ever
 * shown). Told once, not on every reconnect (MAI #384):
 * - the certificate was refused (904 and friends): once per certificate, with
 *   how to add it to the account;
 * - it logged them in: only after they generated a certificate in this run
 *   of the bridge or were told it was refused, i.e. as the answer to the
 *   `!reconnect` the setup instructions end with;
 * - the network has no SASL EXTERNAL: only after they generated one.
 */
import type { IrcConnection } from '../irc';

export class CertificateLoginFeedback {
  /** Users who changed their certificate and have not seen the outcome yet. */
  private readonly awaiting = new Set<string>();
  /** Per user, the fingerprint whose refusal they were told about. */
  private readonly toldRefused = new Map<string, string>();

  constructor(
    private readonly network: string,
    /** The `!cmd` prefix naming this network (empty when it is the only one). */
    private readonly serverArg: string,
    private readonly tell: (userId: string, text: string) => void,
  ) {}

  /** The user generated or removed a certificate: report how the next connection fares. */
  changed(userId: string): void {
    this.awaiting.add(userId);
    this.toldRefused.delete(userId);
  }

  /** Follows the SASL outcome of a connection presenting the user's own certificate. */
  watch(userId: string, conn: IrcConnection, fingerprint: string): void {
    conn.on('sasl', (ev) => {
      if (ev.ok) {
        const wasRefused = this.toldRefused.delete(userId);
        if (this.awaiting.delete(userId) || wasRefused) {
          this.tell(userId, `You are logged in to ${this.network} as ${ev.account} with your client certificate (SASL EXTERNAL).`);
        }
        return;
      }
      if (ev.reason === 'capability_missing' || ev.reason === 'unsupported_mechanism') {
        if (this.awaiting.delete(userId)) {
          this.tell(
            userId,
            `${this.network} does not offer SASL EXTERNAL. Your connection presents your client certificate anyway; ` +
              'networks whose services know it log you in by CertFP once connected.',
          );
        }
        return;
      }
      if (this.toldRefused.get(userId) === fingerprint) return;
      this.toldRefused.set(userId, fingerprint);
      this.tell(
        userId,
        `Your client certificate did not log you in on ${this.network}${ev.detail ? ` (${ev.detail})` : ''}, ` +
          'so you are connected without an account. If it is not on your account yet: identify to NickServ, ' +
          `send !cmd ${this.serverArg}PRIVMSG NickServ :CERT ADD ${fingerprint} and !reconnect.`,
      );
    });
  }
}
