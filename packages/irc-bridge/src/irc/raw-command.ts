// Parsing of `!cmd COMMAND args` from the admin room. The result is a single IRC line that can
// never carry CR/LF/NUL, and commands that would break our connection state (registration,
// authentication, identity, quitting) are refused because the bridge must manage those itself.
import { buildLine, isSafeMiddleParam } from './sanitize';
import { isValidChannelName, type ChannelRules } from './channel-name';

/** Commands whose first parameter is a comma-separated list of channels: each must be a name the bridge can address. */
const CHANNEL_LIST_COMMANDS = new Set(['JOIN', 'PART']);

/** Commands a user may never send raw; each is managed by the bridge or unsafe. */
export const DEFAULT_DENIED_COMMANDS: readonly string[] = [
  'PASS', // registration
  'USER', // registration
  'NICK', // nick state is tracked by the bridge: use !nick
  'QUIT', // disconnects are the bridge's decision: use !quit
  'CAP', // capability negotiation is owned by the client library
  'AUTHENTICATE', // SASL is owned by the client library
  'WEBIRC', // spoofing the user's address
  'PROTOCTL', // changes how the server talks to us (MAI refused it too)
  'SERVER', // server-to-server
  'SERVICE',
  'STARTTLS',
  'ERROR',
  'PONG', // keep-alive handled by the library
];

export type RawCommandResult = { ok: true; command: string; params: string[]; line: string } | { ok: false; reason: string };

/**
 * `channels`: the network's channel rules (ISUPPORT). A JOIN or PART names only channels valid
 * under them, as everywhere else in the bridge: InspIRCd accepts `#a:b`, and echoed back, a
 * channel the bridge cannot address reached code that refuses it.
 */
export function parseRawCommand(
  input: string,
  denied: readonly string[] = DEFAULT_DENIED_COMMANDS,
  channels: ChannelRules = {},
): RawCommandResult {
  if (/[\r\n\0]/.test(input)) return { ok: false, reason: 'The command must be a single line.' };
  const text = input.trim();
  if (!text) return { ok: false, reason: 'No command given.' };
  const tokens: string[] = [];
  let trailing: string | undefined;
  let rest = text;
  while (rest.length) {
    if (rest.startsWith(':') && tokens.length > 0) {
      trailing = rest.slice(1);
      break;
    }
    const sp = rest.indexOf(' ');
    const tok = sp === -1 ? rest : rest.slice(0, sp);
    tokens.push(tok);
    rest = sp === -1 ? '' : rest.slice(sp).replace(/^ +/, '');
  }
  const [command, ...middle] = tokens;
  if (!/^[A-Z]+$/.test(command)) {
    return { ok: false, reason: 'The command must be uppercase letters, e.g. !cmd PRIVMSG NickServ :help' };
  }
  if (denied.includes(command)) return { ok: false, reason: `${command} cannot be sent with !cmd.` };
  if (!middle.every(isSafeMiddleParam)) return { ok: false, reason: 'Invalid parameter.' };
  const params = trailing === undefined ? middle : [...middle, trailing];
  if (CHANNEL_LIST_COMMANDS.has(command)) {
    const bad = (params[0] ?? '').split(',').find((c) => !isValidChannelName(c, channels));
    if (bad !== undefined)
      return { ok: false, reason: bad ? `${JSON.stringify(bad)} is not a valid channel name.` : `${command} needs a channel.` };
  }
  return { ok: true, command, params, line: buildLine(command, middle, trailing) };
}
