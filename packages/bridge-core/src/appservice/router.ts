/**
 * A small path router, compiled once when routes are added: patterns are
 * split into segments (`:name` captures one segment), grouped by segment
 * count, so matching a request is a handful of string comparisons with no
 * regular expressions.
 */

export interface RouteMatch<H> {
  /** Handler for the request's method, if the path has one for it. */
  handler?: H;
  /** Methods the path accepts (for 405 and `Allow`). Frozen (shared) when `handler` is set. */
  allowed: string[];
  params: Record<string, string>;
}

interface CompiledRoute<H> {
  pattern: string;
  /** Static segment text, or undefined where the pattern captures. */
  statics: Array<string | undefined>;
  names: Array<string | undefined>;
  staticCount: number;
  methods: Map<string, H>;
  /** `[...methods.keys()]`, frozen; rebuilt on add. */
  allowed: readonly string[];
}

export class Router<H> {
  private readonly byLength = new Map<number, Array<CompiledRoute<H>>>();
  private readonly byPattern = new Map<string, CompiledRoute<H>>();

  add(method: string, pattern: string, handler: H): void {
    if (!pattern.startsWith('/')) throw new Error(`Route pattern must start with "/": ${pattern}`);
    const m = method.toUpperCase();
    let route = this.byPattern.get(pattern);
    if (!route) {
      const segs = pattern.split('/').slice(1);
      const statics = segs.map((s) => (s.startsWith(':') ? undefined : s));
      const names = segs.map((s) => (s.startsWith(':') ? s.slice(1) : undefined));
      route = { pattern, statics, names, staticCount: statics.filter((s) => s !== undefined).length, methods: new Map(), allowed: [] };
      this.byPattern.set(pattern, route);
      const list = this.byLength.get(segs.length) ?? [];
      list.push(route);
      // Most specific first: more static segments win over captures.
      list.sort((a, b) => b.staticCount - a.staticCount);
      this.byLength.set(segs.length, list);
    }
    if (route.methods.has(m)) throw new Error(`Route already registered: ${m} ${pattern}`);
    route.methods.set(m, handler);
    route.allowed = Object.freeze([...route.methods.keys()]);
  }

  /**
   * Match a path (without query string). Returns undefined when no pattern
   * matches; a match without `handler` means "known path, wrong method".
   * Captured segments are percent-decoded; undecodable ones fail the match.
   */
  match(method: string, path: string): RouteMatch<H> | undefined {
    const segs = path.split('/');
    // segs[0] is '' (path starts with '/').
    const list = this.byLength.get(segs.length - 1);
    if (!list) return undefined;
    let fallback: RouteMatch<H> | undefined;
    for (let r = 0; r < list.length; r++) {
      const route = list[r];
      const statics = route.statics;
      let ok = true;
      for (let i = 0; i < statics.length; i++) {
        const s = statics[i];
        if (s !== undefined ? s !== segs[i + 1] : segs[i + 1] === '') {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const handler = route.methods.get(method);
      if (!handler && fallback) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < statics.length; i++) {
        const name = route.names[i];
        if (name === undefined) continue;
        try {
          params[name] = decodeURIComponent(segs[i + 1]);
        } catch {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const found: RouteMatch<H> = { handler, allowed: handler ? (route.allowed as string[]) : [...route.allowed], params };
      if (handler) return found;
      fallback = found;
    }
    return fallback;
  }
}
