/**
 * Route templates for client-server API paths, so the `endpoint` label of the
 * homeserver request metrics has bounded cardinality: room IDs, user IDs,
 * event types, transaction IDs and media IDs become `{placeholders}`.
 */

/**
 * Known routes, relative to the API prefix (`/_matrix/client/v3` etc.; media
 * paths under `/media`). A `{name}` segment matches any single segment; a
 * final `{name*}` matches the rest of the path (state keys or file names that
 * were not percent-encoded). More specific routes come first.
 */
const ROUTES: readonly string[] = [
  // rooms
  '/rooms/{roomId}/send/{eventType}/{txnId}',
  '/rooms/{roomId}/send/{eventType}',
  '/rooms/{roomId}/state/{eventType}/{stateKey*}',
  '/rooms/{roomId}/state/{eventType}',
  '/rooms/{roomId}/state',
  '/rooms/{roomId}/redact/{eventId}/{txnId}',
  '/rooms/{roomId}/redact/{eventId}',
  '/rooms/{roomId}/typing/{userId}',
  '/rooms/{roomId}/receipt/{receiptType}/{eventId}',
  '/rooms/{roomId}/read_markers',
  '/rooms/{roomId}/joined_members',
  '/rooms/{roomId}/members',
  '/rooms/{roomId}/messages',
  '/rooms/{roomId}/event/{eventId}',
  '/rooms/{roomId}/context/{eventId}',
  '/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}',
  '/rooms/{roomId}/relations/{eventId}/{relType}',
  '/rooms/{roomId}/relations/{eventId}',
  '/rooms/{roomId}/threads',
  '/rooms/{roomId}/timestamp_to_event',
  '/rooms/{roomId}/report/{eventId}',
  '/rooms/{roomId}/report',
  '/rooms/{roomId}/initialSync',
  '/rooms/{roomId}/aliases',
  '/rooms/{roomId}/upgrade',
  '/rooms/{roomId}/join',
  '/rooms/{roomId}/leave',
  '/rooms/{roomId}/forget',
  '/rooms/{roomId}/invite',
  '/rooms/{roomId}/kick',
  '/rooms/{roomId}/ban',
  '/rooms/{roomId}/unban',
  '/rooms/{roomId}/batch_send',
  '/join/{roomIdOrAlias}',
  '/knock/{roomIdOrAlias}',
  '/createRoom',
  '/joined_rooms',
  '/publicRooms',
  '/directory/room/{roomAlias}',
  '/directory/list/room/{roomId}',
  '/directory/list/appservice/{networkId}/{roomId}',
  // users and accounts
  '/register/available',
  '/register',
  '/login',
  '/logout/all',
  '/logout',
  '/account/whoami',
  '/profile/{userId}/displayname',
  '/profile/{userId}/avatar_url',
  '/profile/{userId}/{keyName}',
  '/profile/{userId}',
  '/presence/{userId}/status',
  '/user/{userId}/rooms/{roomId}/account_data/{type}',
  '/user/{userId}/rooms/{roomId}/tags/{tag}',
  '/user/{userId}/rooms/{roomId}/tags',
  '/user/{userId}/account_data/{type}',
  '/user/{userId}/filter/{filterId}',
  '/user/{userId}/filter',
  '/user/{userId}/openid/request_token',
  '/user_directory/search',
  // sync, devices, keys
  '/sync',
  '/events',
  '/sendToDevice/{eventType}/{txnId}',
  '/keys/upload',
  '/keys/query',
  '/keys/claim',
  '/keys/changes',
  '/devices/{deviceId}',
  '/devices',
  '/delete_devices',
  // server
  '/versions',
  '/capabilities',
  '/pushrules/{scope}/{kind}/{ruleId}/{attr}',
  '/pushrules/{scope}/{kind}/{ruleId}',
  '/pushrules',
  '/pushers/set',
  '/pushers',
  '/thirdparty/protocols',
  '/thirdparty/protocol/{protocol}',
  '/thirdparty/location/{protocol}',
  '/thirdparty/user/{protocol}',
  '/thirdparty/location',
  '/thirdparty/user',
  '/appservice/{appserviceId}/ping',
  '/voip/turnServer',
  // media (client v1 and legacy /_matrix/media)
  '/media/upload/{serverName}/{mediaId}',
  '/media/upload',
  '/media/create',
  '/media/config',
  '/media/preview_url',
  '/media/download/{serverName}/{mediaId}/{fileName*}',
  '/media/download/{serverName}/{mediaId}',
  '/media/thumbnail/{serverName}/{mediaId}',
];

interface Route {
  template: string;
  segs: string[];
  greedyTail: boolean;
}

const COMPILED: Route[] = ROUTES.map((template) => {
  const segs = template.split('/').slice(1);
  const last = segs[segs.length - 1];
  const greedyTail = /^\{[^}]+\*\}$/.test(last);
  return { template: template.replace('*}', '}'), segs, greedyTail };
});

const PREFIXES: Array<[RegExp, string]> = [
  [/^\/_matrix\/client\/(?:v\d+|r0|unstable(?:\/[^/]+)?)\/media(?=\/|$)/, '/media'],
  [/^\/_matrix\/media\/(?:v\d+|r0|unstable(?:\/[^/]+)?)(?=\/|$)/, '/media'],
  [/^\/_matrix\/client\/(?:v\d+|r0|unstable)(?=\/|$)/, ''],
];

/** Distinct templates produced for paths matching no known route, before falling back to `other`. */
const MAX_UNKNOWN_TEMPLATES = 64;

/**
 * The route template of a client-server API path, e.g.
 * `/_matrix/client/v3/rooms/!a%3Ab/send/m.room.message/m123` →
 * `/rooms/{roomId}/send/{eventType}/{txnId}`. Accepts a full URL, a path with
 * a query string, a template that is already normalised, or an HTTP client
 * label with a leading method (`PUT /rooms/...`; the method is dropped).
 * Paths matching no known route get ID-like segments replaced by `{param}`;
 * past a fixed number of such templates the result is `other`.
 */
export function endpointTemplate(path: string): string {
  return defaultTemplater(path);
}

/**
 * An `endpointTemplate` with its own cap on templates of unknown paths (each
 * `BridgeMetrics` has one, so one bridge's odd paths do not use up another's).
 */
export function createEndpointTemplater(maxUnknown = MAX_UNKNOWN_TEMPLATES): (path: string) => string {
  const seen = new Set<string>();
  // Every homeserver request is labelled, mostly with the same few endpoint strings: remember
  // their answers (bounded, since raw paths with IDs in them would each be new).
  const memo = new Map<string, string>();
  return (path) => {
    const hit = memo.get(path);
    if (hit !== undefined) return hit;
    const t = templateOf(path);
    let label = t.template;
    if (!t.known && !seen.has(t.template)) {
      if (seen.size >= maxUnknown) label = 'other';
      else seen.add(t.template);
    }
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(path, label);
    return label;
  };
}

const MEMO_SIZE = 1000;
const defaultTemplater = createEndpointTemplater();

function templateOf(path: string): { template: string; known: boolean } {
  let p = path.trim();
  const methodPrefix = /^[A-Z]+\s+(?=\/|https?:)/.exec(p);
  if (methodPrefix) p = p.slice(methodPrefix[0].length);
  const url = /^https?:\/\/[^/]+/i.exec(p);
  if (url) p = p.slice(url[0].length);
  p = p.split(/[?#]/)[0];
  if (!p.startsWith('/')) p = '/' + p;
  p = p.replace(/\/{2,}/g, '/');
  for (const [re, replacement] of PREFIXES) {
    if (re.test(p)) {
      p = p.replace(re, replacement);
      break;
    }
  }
  if (p === '') p = '/';

  const segs = p.split('/').slice(1);
  const hit = match(segs) ?? (segs.length > 1 && segs[segs.length - 1] === '' ? match(segs.slice(0, -1)) : undefined);
  if (hit) return { template: hit, known: true };
  return { template: unknownTemplate(segs), known: false };
}

function match(segs: string[]): string | undefined {
  for (const r of COMPILED) {
    if (r.greedyTail ? segs.length < r.segs.length : segs.length !== r.segs.length) continue;
    let ok = true;
    for (let i = 0; i < r.segs.length && ok; i++) {
      const pat = r.segs[i];
      if (pat.startsWith('{')) {
        // A parameter never swallows a known literal of the API shape, but any value (or an
        // already substituted placeholder) is fine. Empty is allowed only for the tail (empty state key).
        if (segs[i] === '' && i !== r.segs.length - 1) ok = false;
      } else if (segs[i] !== pat) {
        ok = false;
      }
    }
    if (ok) return r.template;
  }
  return undefined;
}

const LITERAL = /^(?:[a-z_]{1,32}|v\d{1,2}|r0)$/i;

function unknownTemplate(segs: string[]): string {
  return (
    '/' +
    segs
      .map((s) => {
        if (/^\{[A-Za-z]+\}$/.test(s)) return s;
        return LITERAL.test(s) ? s : '{param}';
      })
      .join('/')
  );
}

/** True when the template came from the known route table. */
export function isKnownEndpointTemplate(template: string): boolean {
  return COMPILED.some((r) => r.template === template);
}
