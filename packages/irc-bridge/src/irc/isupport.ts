// ISUPPORT (005) state: the server's limits and naming rules. Defaults are InspIRCd 3's, used
// until the server tells us otherwise, so sizes are never overestimated before registration.
import { parseCaseMapping, type CaseMapping } from './casemapping';
import { Interner } from './interner';

export interface PrefixMode {
  mode: string;
  symbol: string;
}

export interface Isupport {
  caseMapping: CaseMapping;
  chanTypes: string;
  channelLen: number;
  nickLen: number;
  topicLen: number;
  kickLen: number;
  /** Highest first, e.g. [{mode:'o',symbol:'@'},{mode:'v',symbol:'+'}]. */
  prefixes: PrefixMode[];
  /** CHANMODES groups A,B,C,D: list modes, always-param, param-when-set, no-param. */
  chanModes: [string, string, string, string];
  network?: string;
  raw: Record<string, string | true>;
}

export function defaultIsupport(): Isupport {
  return {
    caseMapping: 'rfc1459',
    chanTypes: '#',
    channelLen: 64,
    nickLen: 30,
    topicLen: 307,
    kickLen: 255,
    prefixes: [
      { mode: 'o', symbol: '@' },
      { mode: 'v', symbol: '+' },
    ],
    chanModes: ['b', 'k', 'l', 'imnpst'],
    raw: {},
  };
}

/**
 * One shared object per distinct ISUPPORT: every connection to a server gets the same 005 lines,
 * and each copy (about 40 tokens) costs ~3 KB, which over 1,000 users' connections is a tenth of
 * the bridge's memory per connection. Isupport objects are never mutated (applyIsupportTokens
 * returns a new one), so sharing is safe.
 */
const interned = new Interner<Isupport>();
export function internIsupport(i: Isupport): Isupport {
  return interned.intern(JSON.stringify(i), i);
}

/** Applies the tokens of one 005 line (params without our nick and the trailing text). */
export function applyIsupportTokens(cur: Isupport, tokens: readonly string[]): Isupport {
  const next: Isupport = { ...cur, raw: { ...cur.raw } };
  for (const tok of tokens) {
    const eq = tok.indexOf('=');
    const key = (eq === -1 ? tok : tok.slice(0, eq)).toUpperCase();
    const value =
      eq === -1 ? '' : tok.slice(eq + 1).replace(/\\x([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    next.raw[key] = eq === -1 ? true : value;
    const num = parseInt(value, 10);
    switch (key) {
      case 'CASEMAPPING':
        next.caseMapping = parseCaseMapping(value);
        break;
      case 'CHANTYPES':
        next.chanTypes = value;
        break;
      case 'CHANNELLEN':
        if (num > 0) next.channelLen = num;
        break;
      case 'NICKLEN':
      case 'MAXNICKLEN':
        if (num > 0) next.nickLen = num;
        break;
      case 'TOPICLEN':
        if (num > 0) next.topicLen = num;
        break;
      case 'KICKLEN':
        if (num > 0) next.kickLen = num;
        break;
      case 'NETWORK':
        next.network = value;
        break;
      case 'PREFIX': {
        const m = /^\(([^)]*)\)(.*)$/.exec(value);
        if (m && m[1].length === m[2].length) next.prefixes = [...m[1]].map((mode, i) => ({ mode, symbol: m[2][i] }));
        break;
      }
      case 'CHANMODES': {
        const g = value.split(',');
        next.chanModes = [g[0] ?? '', g[1] ?? '', g[2] ?? '', g[3] ?? ''];
        break;
      }
    }
  }
  return next;
}

export interface ModeChange {
  adding: boolean;
  mode: string;
  param?: string;
}

/** Parses "+ov-k nick1 nick2 key" into individual changes using PREFIX and CHANMODES. */
export function parseModeChanges(modes: string, params: readonly string[], isupport: Isupport): ModeChange[] {
  const out: ModeChange[] = [];
  let adding = true;
  let p = 0;
  const prefixModes = isupport.prefixes.map((x) => x.mode).join('');
  const [a, b, c] = isupport.chanModes;
  for (const ch of modes) {
    if (ch === '+' || ch === '-') {
      adding = ch === '+';
      continue;
    }
    const takesParam = prefixModes.includes(ch) || a.includes(ch) || b.includes(ch) || (c.includes(ch) && adding);
    out.push(takesParam ? { adding, mode: ch, param: params[p++] } : { adding, mode: ch });
  }
  return out;
}
