// Slack message identity for the bridge's message map: a message is `(team, channel, ts)`; the
// map stores one opaque string. The encoding is unambiguous for any component values (each is
// percent-escaped, so the separator cannot occur inside one) and stable across versions, because
// stored IDs must keep matching. Also: the deterministic key the core turns into a Matrix
// transaction ID, so relaying the same Slack message twice (a retried or redelivered event, a
// restart mid-send) collapses into one Matrix event.

export interface SlackMessageKey {
  team: string;
  channel: string;
  ts: string;
}

const PREFIX = 'slack';
const SEP = ':';

function esc(s: string): string {
  return s.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

function unesc(s: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** `slack:<team>:<channel>:<ts>` with `%` and `:` escaped in each part. */
export function slackMessageId(key: SlackMessageKey): string {
  return [PREFIX, esc(key.team), esc(key.channel), esc(key.ts)].join(SEP);
}

/** The inverse of `slackMessageId`; undefined for anything it did not produce. */
export function parseSlackMessageId(remoteId: string): SlackMessageKey | undefined {
  const parts = remoteId.split(SEP);
  if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
  const [team, channel, ts] = parts.slice(1).map(unesc);
  if (team === undefined || channel === undefined || ts === undefined || !channel || !ts) return undefined;
  // Only the exact encoding round-trips: `%3a` vs `%3A` or an escaped ordinary character would
  // give a second string for one message.
  const key = { team, channel, ts };
  return slackMessageId(key) === remoteId ? key : undefined;
}

/**
 * A deterministic transaction key for the Matrix event(s) made from one Slack message. `part`
 * tells apart several Matrix events made from one Slack event (the text and each file, an
 * edit, a reaction), so each gets its own key; it must itself be deterministic.
 */
export function slackTxnKey(channel: string, ts: string, part?: string | number): string {
  const base = `slack${SEP}${esc(channel)}${SEP}${esc(ts)}`;
  return part === undefined ? base : `${base}${SEP}${esc(String(part))}`;
}
