// Cursor paging as Slack does it: `cursor` + `limit` in, `response_metadata.next_cursor` out
// ("" on the last page). A cursor is opaque base64 ("next_id:<key>"); it names where the next
// page starts, so items added or removed meanwhile do not shift pages.
import { SlackApiError } from './errors';

export interface Page<T> {
  items: T[];
  nextCursor: string;
}

/** `items` must be ordered by `key` (ascending, or descending with `descending`). */
export function paginate<T>(items: T[], key: (t: T) => string, cursor: string | undefined, limit: number, descending = false): Page<T> {
  let start = 0;
  if (cursor) {
    const decoded = Buffer.from(cursor, 'base64').toString('utf8');
    if (!decoded.startsWith('next_id:')) throw new SlackApiError('invalid_cursor');
    const from = decoded.slice('next_id:'.length);
    start = items.findIndex((t) => (descending ? key(t) <= from : key(t) >= from));
    if (start < 0) start = items.length;
  }
  const size = limit > 0 ? limit : items.length;
  const slice = items.slice(start, start + size);
  const next = items[start + size];
  return { items: slice, nextCursor: next ? Buffer.from(`next_id:${key(next)}`).toString('base64') : '' };
}

/** A limit argument clamped the way Slack clamps it. */
export function clampLimit(requested: number, fallback: number, max: number): number {
  if (!Number.isFinite(requested) || requested <= 0) return fallback;
  return Math.min(requested, max);
}
