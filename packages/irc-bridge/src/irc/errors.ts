// Classification of why an IRC connection ended or a command failed. The reconnect policy needs
// to know what is worth retrying: MAI retried InspIRCd's clone-limit refusal forever and treated a
// temporary connectban Z-line as a permanent ban. Every class carries a user-facing message.

export type FailureClass = 'fatal' | 'retryable';

export type DisconnectKind =
  | 'banned' // K-/G-line, 465 without a temporary Z-line
  | 'too_many_connections' // connect-class clone limit (localmax/globalmax)
  | 'server_full' // connect-class `limit` or "server is full"
  | 'bad_password' // 464 ERR_PASSWDMISMATCH
  | 'sasl_failed' // 904/905/906 when SASL is required
  | 'tls_untrusted' // the server's TLS certificate failed verification (self-signed, expired, wrong name)
  | 'throttled' // connflood / "throttled"
  | 'temporary_ban' // Z-line (connectban is a temporary Z-line)
  | 'ping_timeout'
  | 'flooded' // Excess Flood / RecvQ / SendQ exceeded
  | 'killed' // oper KILL
  | 'connect_timeout' // no 001 in time
  | 'net_error' // socket error / reset / refused
  | 'server_closed' // ERROR with another reason, or EOF
  | 'requested'; // we asked to quit

export interface Disconnect {
  class: FailureClass;
  kind: DisconnectKind;
  /** Short text suitable to show the Matrix user. */
  message: string;
  /** The server's own words (ERROR text, numeric text, socket error). */
  detail?: string;
  /** Minimum wait before retrying, when the kind implies one (throttles, Z-lines). */
  retryAfterMs?: number;
}

const MINUTE = 60_000;

/** Classifies the text of an ERROR line (or a quit reason) sent by the server. */
export function classifyErrorText(text: string): Disconnect {
  const t = text.toLowerCase();
  const d = (c: FailureClass, kind: DisconnectKind, message: string, retryAfterMs?: number): Disconnect => ({
    class: c,
    kind,
    message,
    detail: text,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
  // A Z-line from connectban is temporary and IP-wide; InspIRCd sends it as 465 + "Z-Lined: ...".
  if (/z-?lined/.test(t) || /attempting to connect too many times/.test(t)) {
    return d('retryable', 'temporary_ban', 'The IRC network temporarily refuses connections from the bridge.', 10 * MINUTE);
  }
  if (/\b[kg]-?lined\b/.test(t) || /\bbanned\b/.test(t) || /bad user info/.test(t)) {
    return d('fatal', 'banned', 'You are banned from this IRC network.');
  }
  if (
    /no more connections allowed/.test(t) ||
    /too many (host )?connections/.test(t) ||
    /too many connections from your (host|ip)/.test(t)
  ) {
    return d('fatal', 'too_many_connections', 'The IRC network refuses more connections from the bridge (connection limit reached).');
  }
  if (/server is full|server full|class is full|no more connections in this class/.test(t)) {
    return d('fatal', 'server_full', 'The IRC server is full.');
  }
  if (/throttl|connecting too fast|reconnecting too fast|too many connections in too short/.test(t)) {
    return d('retryable', 'throttled', 'The IRC network throttled the connection; retrying later.', MINUTE / 3);
  }
  if (/ping timeout/.test(t)) return d('retryable', 'ping_timeout', 'The IRC connection timed out.');
  if (/excess flood|recvq exceeded|sendq exceeded|max sendq/.test(t)) {
    return d('retryable', 'flooded', 'The IRC server disconnected you for flooding.');
  }
  if (/\bkilled\b/.test(t)) return d('retryable', 'killed', 'You were killed by an IRC operator.');
  if (/\bquit:|client quit|\[quit\b/.test(t)) return d('retryable', 'requested', 'Disconnected from IRC.');
  return d('retryable', 'server_closed', 'The IRC server closed the connection.');
}

/** Numerics that end the registration attempt (the server follows them with ERROR/close). */
export function classifyFatalNumeric(numeric: string, text: string): Disconnect | null {
  switch (numeric) {
    case '465': {
      const c = classifyErrorText(text);
      // 465 means banned unless the text shows a temporary Z-line.
      return c.kind === 'temporary_ban'
        ? c
        : { class: 'fatal', kind: 'banned', message: 'You are banned from this IRC network.', detail: text };
    }
    case '464':
      return { class: 'fatal', kind: 'bad_password', message: 'The IRC server rejected the password.', detail: text };
    case '463':
      return { class: 'fatal', kind: 'banned', message: 'Your host is not allowed to connect to this IRC server.', detail: text };
    default:
      return null;
  }
}

/** Node's certificate verification failures: retrying cannot fix them, the operator must. */
const TLS_SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
const TLS_UNTRUSTED = new Set([
  ...TLS_SELF_SIGNED,
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function classifySocketError(err: unknown): Disconnect {
  const detail = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() : String(err);
  const code = err instanceof Error ? String((err as NodeJS.ErrnoException).code ?? '') : '';
  if (TLS_UNTRUSTED.has(code)) {
    const what = TLS_SELF_SIGNED.has(code)
      ? 'is self-signed'
      : code === 'CERT_HAS_EXPIRED'
        ? 'has expired'
        : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? 'does not match its hostname'
          : 'could not be verified';
    return {
      class: 'fatal',
      kind: 'tls_untrusted',
      detail,
      message:
        `The IRC server's TLS certificate ${what}, so the bridge refused the connection. ` +
        'The bridge operator must give the server a trusted certificate or set tls.allow_self_signed for this network.',
    };
  }
  return { class: 'retryable', kind: 'net_error', message: 'Could not reach the IRC server.', detail };
}

export function connectTimeout(ms: number): Disconnect {
  return {
    class: 'retryable',
    kind: 'connect_timeout',
    message: 'The IRC server did not complete registration in time.',
    detail: `no 001 within ${ms} ms`,
  };
}

export function saslFailure(numeric: string, text: string, mechanism?: 'PLAIN' | 'EXTERNAL'): Disconnect {
  const message =
    mechanism === 'EXTERNAL'
      ? "SASL authentication failed: the IRC network did not accept the bridge's client certificate."
      : 'SASL authentication failed: check your IRC account name and password (!storepass account:password).';
  return { class: 'fatal', kind: 'sasl_failed', message, detail: `${numeric} ${text}` };
}

// ---------------------------------------------------------------------------------------------
// Soft numerics: the connection stays up; the failure is reported to whoever sent the command.

export type SoftErrorKind =
  | 'no_such_nick'
  | 'no_such_channel'
  | 'cannot_send'
  | 'too_many_channels'
  | 'unknown_command'
  | 'no_nick_given'
  | 'erroneous_nick'
  | 'nick_in_use'
  | 'nick_collision'
  | 'nick_unavailable'
  | 'not_on_channel'
  | 'user_not_in_channel'
  | 'already_on_channel'
  | 'need_more_params'
  | 'channel_full'
  | 'unknown_mode'
  | 'invite_only'
  | 'banned_from_channel'
  | 'bad_channel_key'
  | 'bad_channel_mask'
  | 'needs_account'
  | 'not_chanop'
  | 'no_privileges'
  | 'secure_only'
  | 'nick_locked'
  | 'sasl_failed'
  | 'other';

export interface SoftError {
  numeric: string;
  kind: SoftErrorKind;
  /** The nick/channel the error is about, when the numeric names one. */
  subject?: string;
  message: string;
  detail: string;
}

const SOFT: Record<string, [SoftErrorKind, (s: string) => string]> = {
  '401': ['no_such_nick', (s) => `There is no IRC user called ${s}.`],
  '403': ['no_such_channel', (s) => `The IRC channel ${s} does not exist.`],
  '404': ['cannot_send', (s) => `Your message could not be sent to ${s}.`],
  '405': ['too_many_channels', (s) => `You have joined too many IRC channels to join ${s}.`],
  '421': ['unknown_command', (s) => `The IRC server does not know the command ${s}.`],
  '431': ['no_nick_given', () => 'No nick was given.'],
  '432': ['erroneous_nick', (s) => `The nick ${s} is not allowed on this IRC network.`],
  '433': ['nick_in_use', (s) => `The nick ${s} is already in use.`],
  '436': ['nick_collision', (s) => `The nick ${s} collided with another user.`],
  '437': ['nick_unavailable', (s) => `The nick or channel ${s} is temporarily unavailable.`],
  '441': ['user_not_in_channel', (s) => `${s} is not in that channel.`],
  '442': ['not_on_channel', (s) => `You are not in ${s}.`],
  '443': ['already_on_channel', (s) => `${s} is already in that channel.`],
  '461': ['need_more_params', (s) => `The IRC command ${s} needs more parameters.`],
  '471': ['channel_full', (s) => `Cannot join ${s}: the channel is full (+l).`],
  '472': ['unknown_mode', (s) => `Unknown channel mode ${s}.`],
  '473': ['invite_only', (s) => `Cannot join ${s}: the channel is invite-only (+i).`],
  '474': ['banned_from_channel', (s) => `Cannot join ${s}: you are banned from the channel (+b).`],
  '475': ['bad_channel_key', (s) => `Cannot join ${s}: wrong or missing channel key (+k).`],
  '476': ['bad_channel_mask', (s) => `${s} is not a valid channel name.`],
  '477': ['needs_account', (s) => `${s} requires you to be logged in to a registered IRC account (use SASL).`],
  '478': ['other', (s) => `The ban list of ${s} is full.`],
  '481': ['no_privileges', () => 'You are not an IRC operator.'],
  '482': ['not_chanop', (s) => `You are not a channel operator in ${s}.`],
  '489': ['secure_only', (s) => `${s} only allows TLS-connected users.`],
  '902': ['nick_locked', () => 'Your nick is locked, SASL login is unavailable.'],
  '904': ['sasl_failed', () => 'SASL authentication failed.'],
  '905': ['sasl_failed', () => 'SASL message too long.'],
  '906': ['sasl_failed', () => 'SASL authentication aborted.'],
};

/** Whether a numeric is an error reply we report without dropping the connection. */
export function isSoftErrorNumeric(numeric: string): boolean {
  return numeric in SOFT || /^4\d\d$/.test(numeric);
}

/** params: the numeric's parameters, params[0] being our nick. */
export function classifySoftNumeric(numeric: string, params: readonly string[]): SoftError {
  const detail = params[params.length - 1] ?? '';
  const subject = params.length > 2 ? params[1] : undefined;
  const entry = SOFT[numeric];
  if (!entry) return { numeric, kind: 'other', subject, message: `IRC error ${numeric}: ${detail}`, detail };
  return { numeric, kind: entry[0], subject, message: entry[1](subject ?? ''), detail };
}
