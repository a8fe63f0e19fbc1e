// Parsing of `!cmd COMMAND args` from the admin room. The result is a single IRC line that can
// never carry CR/LF/NUL, and commands that would break our connection state (registration,
// authentication, identity, quitting) are refused because the bridge must manage those itself.
import { buildLine, isSafeMiddleParam } from './sanitize';

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

export type RawCommandResult =
  | { ok: true; command: string; params: string[]; line: string }
  | { ok: false; reason: string };

export function parseRawCommand(input: string, denied: readonly string[] = DEFAULT_DENIED_COMMANDS): RawCommandResult {
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
  return { ok: true, command, params, line: buildLine(command, middle, trailing) };
}
