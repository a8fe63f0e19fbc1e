/**
 * The one shape of a raw Matrix event in the core: client format, as a homeserver pushes it in a
 * transaction or returns it from `/state`. Everything that reads raw events (the appservice
 * listener, the state cache, the Matrix → remote router) takes this type, and `isMatrixEvent` is
 * the one check that makes its typed fields true: an entry whose known fields have the wrong JSON
 * types is not an event we handle (a homeserver never sends one; anything else sending it must
 * not get it past the door).
 */
export interface MatrixEvent {
  type: string;
  room_id?: string;
  event_id?: string;
  sender?: string;
  state_key?: string;
  origin_server_ts?: number;
  content?: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
  /** On m.room.redaction before room v11 (v11 moves it into content). */
  redacts?: string;
  [key: string]: unknown;
}

const STRING_FIELDS = ['room_id', 'event_id', 'sender', 'state_key', 'redacts'] as const;
const OBJECT_FIELDS = ['content', 'unsigned'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isMatrixEvent(v: unknown): v is MatrixEvent {
  if (!isObject(v) || typeof v.type !== 'string') return false;
  for (const f of STRING_FIELDS) if (v[f] !== undefined && typeof v[f] !== 'string') return false;
  for (const f of OBJECT_FIELDS) if (v[f] !== undefined && !isObject(v[f])) return false;
  return v.origin_server_ts === undefined || typeof v.origin_server_ts === 'number';
}
