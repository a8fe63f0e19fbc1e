/**
 * `!certfp`: a user's own client certificate per network, for CertFP and SASL
 * EXTERNAL (networks like OFTC only offer certificate logins to services, and
 * one network-wide certificate cannot tell users apart; MAI #1483). The
 * bridge generates the key pair itself and keeps it sealed like `!storepass`
 * passwords; the user only ever sees fingerprints. Like `!storepass`, a change
 * applies from the next connection: `!reconnect` is the user's to choose, as
 * they may first want to `CERT ADD` the new fingerprint while still logged in.
 */
import { CommandUsageError, type Command } from '@causeway/bridge-core';
import type { CommandDeps } from './deps';
import type { IrcNetwork } from '../network/irc-network';
import { KEY_TYPES, generateClientCertificate, type KeyType } from '../certfp/self-signed';
import { fingerprintsOf } from '../certfp/fingerprint';
import { pickNetwork } from './network-arg';

const KEY_NAMES: Record<KeyType, string> = { ecdsa: 'ECDSA P-256', rsa: 'RSA 3072', ed25519: 'Ed25519' };
const USAGE = `!certfp generate [server] [${KEY_TYPES.join('|')}], !certfp show [server] or !certfp remove [server]`;

export function certfpCommand(c: Pick<CommandDeps, 'networks'>): Command {
  /** How `!cmd` and `!reconnect` name this network in instructions (not at all when it is the only one). */
  const serverArg = (n: IrcNetwork) => (c.networks.list().length > 1 ? `${n.name} ` : '');
  const fingerprintLines = (pem: string) => {
    const fp = fingerprintsOf(pem);
    return { sha256: fp.sha256, text: `SHA-256 fingerprint: ${fp.sha256}\nSHA-512 fingerprint: ${fp.sha512}` };
  };

  return {
    name: 'certfp',
    summary: `Your own client certificate for CertFP / SASL EXTERNAL login: ${USAGE}`,
    help: [
      'generate: makes a new key pair and self-signed certificate for you on that network (replacing any previous one), ' +
        'stores it encrypted and shows its fingerprints. Your connection presents it from your next connection ' +
        '(!reconnect) and logs in with SASL EXTERNAL once the certificate is on your NickServ account (CERT ADD). ' +
        'The key type defaults to ecdsa; rsa suits servers too old for it. Only on networks the bridge reaches over TLS.',
      'show: the fingerprints of your certificate. remove: deletes it; your connections stop presenting it from the next one.',
      'With a certificate, a password stored with !storepass is not used for SASL; on networks without SASL it is still sent as PASS.',
    ].join('\n'),
    args: [
      { name: 'action', description: 'generate, show or remove' },
      { name: 'args', description: `[server] [${KEY_TYPES.join('|')}]`, rest: true, optional: true },
    ],
    async run(cmd) {
      const action = (cmd.args.action ?? '').toLowerCase();
      if (!['generate', 'show', 'remove'].includes(action)) throw new CommandUsageError(`Usage: ${USAGE}`);
      const { network: n, rest } = pickNetwork(c.networks, cmd.args.args);
      const users = n.users;
      const existing = await users.certificates.get(n.name, cmd.sender);

      if (action === 'generate') {
        if (!n.cfg.tls.enabled) {
          return cmd.reply(
            `The bridge does not reach ${n.name} over TLS, so it cannot present a client certificate there. Ask the bridge admin to enable tls.`,
          );
        }
        const keyType = (rest[0] ?? 'ecdsa').toLowerCase();
        if (!(KEY_TYPES as readonly string[]).includes(keyType))
          throw new CommandUsageError(`The key type is one of ${KEY_TYPES.join(', ')}.`);
        if (rest.length > 1) throw new CommandUsageError(`Usage: ${USAGE}`);
        const generated = await generateClientCertificate({
          keyType: keyType as KeyType,
          commonName: 'Causeway IRC bridge user certificate',
        });
        await users.certificates.set(n.name, cmd.sender, {
          ...generated,
          keyType: keyType as KeyType,
          createdAt: new Date().toISOString(),
        });
        users.certificateLogin.changed(cmd.sender);
        const fp = fingerprintLines(generated.certificate);
        const s = serverArg(n);
        return cmd.reply(
          [
            `Generated a client certificate for ${n.name} (${KEY_NAMES[keyType as KeyType]}), stored encrypted.`,
            fp.text,
            'To log in with it:',
            `1. While identified to your account (register your nick with NickServ first if needed), add it: !cmd ${s}PRIVMSG NickServ :CERT ADD ${fp.sha256}` +
              ' (after step 2, CERT ADD without a fingerprint adds the certificate your connection presents).',
            `2. !reconnect${s ? ` ${n.name}` : ''}: your connection presents the certificate and logs in with SASL EXTERNAL.`,
            ...(existing
              ? [
                  `This replaces your previous certificate; remove it from your account with CERT DEL ${fingerprintsOf(existing.certificate).sha256}.`,
                ]
              : []),
          ].join('\n'),
        );
      }

      if (action === 'show') {
        if (rest.length) throw new CommandUsageError(`Usage: ${USAGE}`);
        if (!existing)
          return cmd.reply(
            `You have no client certificate for ${n.name}. Make one with !certfp generate${c.networks.list().length > 1 ? ` ${n.name}` : ''}.`,
          );
        const presenting = users.get(cmd.sender)?.connection.options.clientCertificate?.certificate === existing.certificate;
        return cmd.reply(
          [
            `Your client certificate for ${n.name} (${KEY_NAMES[existing.keyType] ?? existing.keyType}, generated ${existing.createdAt.slice(0, 10)}):`,
            fingerprintLines(existing.certificate).text,
            !n.cfg.tls.enabled
              ? `The bridge does not reach ${n.name} over TLS, so it is not presented.`
              : presenting
                ? 'Your current connection presents it.'
                : 'Your connection presents it from the next one (!reconnect).',
          ].join('\n'),
        );
      }

      // remove
      if (rest.length) throw new CommandUsageError(`Usage: ${USAGE}`);
      if (!existing) return cmd.reply(`You had no client certificate for ${n.name}.`);
      await users.certificates.remove(n.name, cmd.sender);
      users.certificateLogin.changed(cmd.sender);
      return cmd.reply(
        `Your client certificate for ${n.name} was deleted; your connection stops presenting it from the next one (!reconnect). ` +
          `Remove it from your account too: !cmd ${serverArg(n)}PRIVMSG NickServ :CERT DEL ${fingerprintsOf(existing.certificate).sha256}`,
      );
    },
  };
}
