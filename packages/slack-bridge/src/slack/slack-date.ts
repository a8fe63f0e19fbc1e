// Slack date tokens (`<!date^1700000000^{date_short} at {time}|fallback>` in mrkdwn, `date`
// elements in rich text) rendered as fixed text. Slack renders them in each reader's time zone and
// locale; a bridged message is one text for every Matrix reader, so it is rendered once, in UTC,
// in English, and says so. Relative forms ("today", "3 minutes ago") would go stale in the room
// history, so they render as absolute dates.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number) => String(n).padStart(2, '0');

function ordinal(n: number): string {
  const rem100 = n % 100;
  if (rem100 >= 11 && rem100 <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

/** Renders a Slack date format string for a UNIX timestamp (seconds); the fallback when it cannot. */
export function formatSlackDate(timestamp: number, format: string, fallback?: string): string {
  const ms = timestamp * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return fallback ?? String(timestamp);
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const day = d.getUTCDate();
  const long = `${MONTHS[mo]} ${day}, ${y}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  const tokens: Record<string, string> = {
    date_num: `${y}-${pad(mo + 1)}-${pad(day)}`,
    date_slash: `${pad(day)}/${pad(mo + 1)}/${y}`,
    date_long: `${DAYS[d.getUTCDay()]}, ${MONTHS[mo]} ${ordinal(day)}, ${y}`,
    date_long_full: long,
    date_long_pretty: `${DAYS[d.getUTCDay()]}, ${MONTHS[mo]} ${ordinal(day)}, ${y}`,
    date: long,
    date_pretty: long,
    date_short: `${MONTHS[mo].slice(0, 3)} ${day}, ${y}`,
    date_short_pretty: `${MONTHS[mo].slice(0, 3)} ${day}, ${y}`,
    day_divider_pretty: long,
    time,
    time_secs: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`,
    ago: `${long} ${time}`,
  };
  const out = format.replace(/\{([a-z_]+)\}/g, (all, name: string) => tokens[name] ?? all);
  return out.trim() ? out : (fallback ?? tokens.date_long_full);
}
