/**
 * Where the IRC bridge's per-user secrets live: stored IRC passwords (`!storepass`) and client
 * certificates (`!certfp`), sealed at rest by the core (`ctx.secrets`) with the key the
 * operator configured (`irc.passwords.encryption_key_file`) or the one generated on first use
 * into `<irc.data_dir>/irc-passwords.key`, as before the core took the sealing over.
 */
import path from 'node:path';
import type { BridgeContext, SecretStore } from '@causeway/bridge-core';
import type { IrcConfig } from './config-schema';

/** The KV namespace of stored passwords. */
export const PASSWORDS_NAMESPACE = 'passwords';

export function openSecrets(ctx: BridgeContext<IrcConfig>, namespace: string): SecretStore {
  const configured = ctx.config.passwords.encryption_key_file;
  return ctx.secrets(namespace, {
    keyFile: configured ?? path.join(ctx.config.data_dir, 'irc-passwords.key'),
    createKeyFile: configured === undefined,
  });
}
