// Wire-level sanitising: every string that reaches the IRC socket passes through here, because a
// stray CR/LF/NUL in any parameter (topic, kick reason, nick, key, realname...) becomes a second
// IRC command, and a \x01 in user text forges a CTCP request.

/** Thrown when a value cannot be put on the wire safely (e.g. a middle parameter with a space). */
export class IrcInjectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IrcInjectionError';
  }
}

const LINE_BREAKS = /\r\n|\r|\n/g;
const NUL = /\0/g;
const CTCP_DELIM = /\x01/g;

/**
 * A single-line parameter (topic, reasons, realname, key): line breaks collapse to a space so the
 * text stays readable, NUL is dropped (InspIRCd would turn it into a space anyway).
 */
export function sanitizeParam(value: string): string {
  return value.replace(LINE_BREAKS, ' ').replace(NUL, '');
}

/** Like sanitizeParam, and also strips \x01 so user-authored text can never start a CTCP. */
export function sanitizeUserText(value: string): string {
  return sanitizeParam(value).replace(CTCP_DELIM, '');
}

/**
 * Multi-line user text (a Matrix message body): every line break starts a new IRC line, NUL and
 * \x01 are removed per line. Empty lines are dropped because IRC cannot send an empty message.
 */
export function splitUserTextLines(value: string): string[] {
  return value
    .split(LINE_BREAKS)
    .map((l) => l.replace(NUL, '').replace(CTCP_DELIM, ''))
    .filter((l) => l.length > 0);
}

/** Whether a middle parameter (target, channel, nick, mode argument) is safe to send. */
export function isSafeMiddleParam(value: string): boolean {
  return value.length > 0 && !value.startsWith(':') && !/[\s\0\x01]/.test(value);
}

/** Whether a command name is plain letters or a 3-digit numeric. */
export function isSafeCommand(value: string): boolean {
  return /^([A-Za-z]+|\d{3})$/.test(value);
}

/**
 * Builds one IRC line. Middle parameters must be injection-free (throws otherwise, rather than
 * silently altering a target); the trailing parameter is sanitised and always sent after ':'
 * so an empty or space-containing value keeps its meaning (irc-framework drops empty trailing).
 */
export function buildLine(command: string, middle: readonly string[], trailing?: string): string {
  if (!isSafeCommand(command)) throw new IrcInjectionError(`unsafe IRC command: ${JSON.stringify(command)}`);
  for (const p of middle) {
    if (!isSafeMiddleParam(p)) throw new IrcInjectionError(`unsafe IRC parameter: ${JSON.stringify(p)}`);
  }
  const parts = [command.toUpperCase(), ...middle];
  if (trailing !== undefined) parts.push(':' + sanitizeParam(trailing));
  return parts.join(' ');
}

/** Byte length as sent (UTF-8). */
export function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}
