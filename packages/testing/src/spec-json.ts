// What specs read off the wire, typed as what it is. An event's content has the fields the Matrix
// spec defines typed (a spec reads `ev.content.body` or `ev.content['m.relates_to']?.event_id`
// directly) and everything else as `unknown`; an HTTP answer is a JSON object whose fields are
// `unknown`. A spec narrows an `unknown` with the helpers below, which fail the spec with the path
// they expected rather than letting a `TypeError` (or an `any`) through.
import { AssertionError } from 'node:assert';
import type { MatrixEvent as StoredEvent } from './homeserver/rooms';

/** A JSON object read off the wire: its fields are whatever arrived. */
export type JsonObject = Record<string, unknown>;

/** `m.relates_to` as the Matrix spec defines it (replacements, annotations, threads, replies). */
export interface RelatesTo {
  [key: string]: unknown;
  rel_type?: string;
  event_id?: string;
  key?: string;
  is_falling_back?: boolean;
  'm.in_reply_to'?: { event_id?: string };
}

/** Media info (`info` of m.image, m.file, …, and of avatars). */
export interface MediaInfo {
  [key: string]: unknown;
  mimetype?: string;
  size?: number;
  w?: number;
  h?: number;
}

/** Event content: the fields the Matrix spec defines for the events bridges send, and the rest. */
export interface EventContent {
  [key: string]: unknown;
  // m.room.message (and m.sticker)
  msgtype?: string;
  body?: string;
  format?: string;
  formatted_body?: string;
  url?: string;
  filename?: string;
  info?: MediaInfo;
  'm.relates_to'?: RelatesTo;
  'm.new_content'?: EventContent;
  'm.mentions'?: { user_ids?: string[]; room?: boolean };
  // state events
  membership?: string;
  displayname?: string;
  avatar_url?: string;
  is_direct?: boolean;
  reason?: string;
  name?: string;
  topic?: string;
  alias?: string;
  alt_aliases?: string[];
  join_rule?: string;
  history_visibility?: string;
  users?: Record<string, number>;
  users_default?: number;
  events?: Record<string, number>;
  // m.room.redaction (room versions ≥ 11 carry it in content)
  redacts?: string;
}

/** `unsigned` as servers fill it. */
export interface EventUnsigned {
  [key: string]: unknown;
  age?: number;
  transaction_id?: string;
  prev_content?: EventContent;
  prev_sender?: string;
  replaces_state?: string;
  redacted_because?: JsonObject;
}

/** An event as the emulator's accessors hand it to specs. */
export interface SpecEvent extends Omit<StoredEvent, 'content' | 'unsigned'> {
  content: EventContent;
  unsigned: EventUnsigned;
}

function fail(what: string, expected: string, value: unknown): never {
  throw new AssertionError({
    message: `${what}: expected ${expected}, got ${value === undefined ? 'undefined' : JSON.stringify(value)}`,
    actual: value,
    expected,
    operator: 'typeof',
  });
}

/** `value` as a JSON object (not an array, not null). */
export function asObject(value: unknown, what = 'value'): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what, 'an object', value);
  return value as JsonObject;
}

/** `value` as an array of unknown elements. */
export function asArray(value: unknown, what = 'value'): unknown[] {
  if (!Array.isArray(value)) fail(what, 'an array', value);
  return value as unknown[];
}

/** `value` as an array of JSON objects. */
export function asObjects(value: unknown, what = 'value'): JsonObject[] {
  return asArray(value, what).map((v, i) => asObject(v, `${what}[${i}]`));
}

export function asString(value: unknown, what = 'value'): string {
  if (typeof value !== 'string') fail(what, 'a string', value);
  return value;
}

export function asNumber(value: unknown, what = 'value'): number {
  if (typeof value !== 'number') fail(what, 'a number', value);
  return value;
}

/**
 * The value at `path` inside `value` (object keys and array indexes), or `undefined` where the path
 * leaves the JSON: `at(reply.body, 'chunk', 0, 'event_id')`.
 */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let here = value;
  for (const step of path) {
    if (typeof here !== 'object' || here === null) return undefined;
    here = (here as Record<string | number, unknown>)[step];
  }
  return here;
}

/** `JSON.parse` for specs: the result is `unknown` until narrowed, not `any`. */
export function parseJson(text: string | Buffer): unknown {
  return JSON.parse(text.toString()) as unknown;
}
