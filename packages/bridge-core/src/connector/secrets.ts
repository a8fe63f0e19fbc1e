/**
 * Per-user secrets a connector must be able to read back (an IRC password, a Slack or Gitter
 * user token, a client certificate's private key), sealed at rest by the core (`ctx.secrets`).
 * Each record is bound to its scope and user: a sealed value copied to another user fails to open.
 * Values are never logged by the core; a connector must not log them either.
 */
export interface SecretStore {
  /** `scope` is the connector's own subdivision, e.g. a network or workspace. */
  set(scope: string, userId: string, secret: string): Promise<void>;
  get(scope: string, userId: string): Promise<string | undefined>;
  /** True when a secret was removed. */
  remove(scope: string, userId: string): Promise<boolean>;
}

export interface SecretStoreOptions {
  /**
   * The key file (32 raw bytes or 64 hex characters). Default: `<data_dir>/<protocol>-passwords.key`,
   * generated with mode 0600 on first use. A configured file that does not exist is an error.
   */
  keyFile?: string;
  /** Generate the key file when it does not exist (default: only when `keyFile` is not given). */
  createKeyFile?: boolean;
}
