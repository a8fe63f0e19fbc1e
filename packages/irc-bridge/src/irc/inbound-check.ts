/**
 * Which parsed server lines are too short to mean anything. irc-framework's handlers and the
 * connection read parameters by position without checking they are there: `:x!y@z PRIVMSG` with
 * no parameters threw inside irc-framework (`reading 'charAt'`) and ended the process. A faulty
 * server, or anyone on a plaintext link, could send it. Such a line is dropped before either
 * reads it (IrcConnection counts it as malformed); whatever else a handler throws on is caught
 * around the parse (IrcConnection.installLineGuard).
 */

/** Parameters a command from a server always has (RFC 2812, IRCv3); fewer and the line is dropped. */
const MIN_PARAMS: Readonly<Record<string, number>> = {
  PRIVMSG: 2,
  NOTICE: 2,
  TAGMSG: 1,
  JOIN: 1,
  PART: 1,
  KICK: 2,
  TOPIC: 2,
  INVITE: 2,
  MODE: 2,
  NICK: 1,
  CHGHOST: 2,
  ACCOUNT: 1,
  SETNAME: 1,
  AWAY: 0,
  CAP: 2,
  AUTHENTICATE: 1,
  BATCH: 1,
  PING: 1,
  // Numerics start with our nick; these are read further in.
  '004': 2,
  '324': 3,
  '332': 3,
  '333': 3,
  '353': 4,
  '364': 4,
  '366': 2,
  '396': 2,
};

/** Every numeric names us first and says something after. */
const NUMERIC_MIN_PARAMS = 2;

/** Leading parameters that name a channel or a nick, so cannot be empty (text parameters may be). */
const NAMES: Readonly<Record<string, number>> = {
  PRIVMSG: 1,
  NOTICE: 1,
  JOIN: 1,
  PART: 1,
  KICK: 2,
  TOPIC: 1,
  INVITE: 2,
  MODE: 1,
  NICK: 1,
};

/** Commands only a user sends: without a nick in the prefix nobody did it. */
const FROM_A_USER = new Set(['JOIN', 'PART', 'QUIT', 'NICK', 'INVITE']);

/** Why a parsed line cannot be handled, or undefined when it can. `nick`: the prefix's nick, if any. */
export function malformedReason(command: string, params: readonly string[], nick?: string): string | undefined {
  if (!command) return 'no command';
  const min = MIN_PARAMS[command] ?? (/^\d{3}$/.test(command) ? NUMERIC_MIN_PARAMS : 0);
  if (params.length < min) return `${command} with ${params.length} of at least ${min} parameters`;
  const names = NAMES[command] ?? 0;
  for (let i = 0; i < names; i++) if (!params[i]) return `${command} with an empty parameter ${i + 1}`;
  if (FROM_A_USER.has(command) && !nick) return `${command} from no one`;
  return undefined;
}
