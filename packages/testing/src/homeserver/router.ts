// Route table as a segment trie: matching costs O(path depth), not O(routes), which
// keeps per-request overhead flat when tests drive thousands of requests.
//
// Every route has an *endpoint key* used for request counting and fault targeting:
//   "<METHOD> <template>"
// where <template> is the path template with `{param}` placeholders. Client-server
// routes drop their `/_matrix/client/{v3,r0,v1}` prefix (e.g.
// "PUT /rooms/{roomId}/send/{eventType}/{txnId}", "GET /media/download/{serverName}/{mediaId}");
// every other API keeps its full path (e.g. "POST /_matrix/media/v3/upload",
// "GET /_matrix/federation/v1/openid/userinfo").

export const CLIENT_PREFIXES = ['/_matrix/client/v3', '/_matrix/client/r0', '/_matrix/client/v1', '/_matrix/client/unstable'];

export interface RouteSpec<H> {
  method: string;
  /** Templates matched literally (already including any prefix). */
  paths: string[];
  key: string;
  handler: H;
}

interface Node<H> {
  lit: Map<string, Node<H>>;
  param?: Node<H>;
  /** method -> route, plus the names of the `{params}` along this exact template. */
  methods?: Map<string, { route: RouteSpec<H>; names: string[] }>;
}

export interface RouteMatch<H> {
  route: RouteSpec<H>;
  params: Record<string, string>;
}

const newNode = <H>(): Node<H> => ({ lit: new Map() });

export class Router<H> {
  private root: Node<H> = newNode();

  add(route: RouteSpec<H>): void {
    for (const path of route.paths) {
      let node = this.root;
      const names: string[] = [];
      for (const seg of path.split('/').slice(1)) {
        if (seg.startsWith('{') && seg.endsWith('}')) {
          names.push(seg.slice(1, -1));
          node = node.param ??= newNode();
        } else {
          let next = node.lit.get(seg);
          if (!next) node.lit.set(seg, (next = newNode()));
          node = next;
        }
      }
      (node.methods ??= new Map()).set(route.method, { route, names });
    }
  }

  /**
   * Returns the match, `'method'` when the path exists under another method only
   * (405), or undefined (404). `segments` are already percent-decoded.
   */
  match(method: string, segments: string[]): RouteMatch<H> | 'method' | undefined {
    const values: string[] = [];
    let sawPath = false;
    const walk = (node: Node<H>, i: number): RouteMatch<H> | undefined => {
      if (i === segments.length) {
        if (!node.methods) return undefined;
        const hit = node.methods.get(method) ?? (method === 'HEAD' ? node.methods.get('GET') : undefined);
        if (!hit) {
          sawPath = true;
          return undefined;
        }
        const params: Record<string, string> = {};
        hit.names.forEach((n, idx) => (params[n] = values[idx]));
        return { route: hit.route, params };
      }
      const lit = node.lit.get(segments[i]);
      if (lit) {
        const m = walk(lit, i + 1);
        if (m) return m;
      }
      if (node.param) {
        values.push(segments[i]);
        const m = walk(node.param, i + 1);
        if (m) return m;
        values.pop();
      }
      return undefined;
    };
    const m = walk(this.root, 0);
    if (m) return m;
    return sawPath ? 'method' : undefined;
  }
}

/**
 * Accepts either a key as documented above or one written with a client prefix
 * ("PUT /_matrix/client/v3/rooms/{roomId}/...") and returns the canonical key.
 */
export function normaliseKey(key: string): string {
  const sp = key.indexOf(' ');
  if (sp < 0) return key;
  const method = key.slice(0, sp).toUpperCase();
  let path = key.slice(sp + 1).trim();
  for (const p of CLIENT_PREFIXES) {
    if (path.startsWith(p + '/')) {
      path = path.slice(p.length);
      break;
    }
  }
  return `${method} ${path}`;
}
