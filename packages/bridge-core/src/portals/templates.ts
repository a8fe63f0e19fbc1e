/**
 * Ghost user IDs and portal aliases come from templates so operators keep the
 * names their users know (`@irc_$NETWORK_$ID`, `#irc_$NETWORK_$ID`). Remote IDs
 * are escaped into valid localparts reversibly, so an alias or user query can be
 * turned back into the remote ID.
 */

/**
 * Escape any string into the Matrix user-ID grammar (a-z 0-9 . _ = - /),
 * reversibly: `_` → `__`, an upper-case letter → `_` + lower case, anything
 * else outside the grammar → `=` + two hex digits per UTF-8 byte.
 */
export function escapeLocalpart(raw: string): string {
  let out = '';
  for (const ch of raw) {
    if (ch === '_') out += '__';
    else if (/[A-Z]/.test(ch)) out += '_' + ch.toLowerCase();
    else if (/[a-z0-9.\-/]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '=' + b.toString(16).padStart(2, '0');
  }
  return out;
}

/** Inverse of escapeLocalpart; returns null when the input is not a valid escape. */
export function unescapeLocalpart(escaped: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i];
    if (ch === '_') {
      const next = escaped[i + 1];
      if (next === '_') bytes.push(0x5f);
      else if (next && /[a-z]/.test(next)) bytes.push(next.toUpperCase().charCodeAt(0));
      else return null;
      i++;
    } else if (ch === '=') {
      const hex = escaped.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (/[a-z0-9.\-/]/.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      return null;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A localpart template with `$NETWORK` and `$ID` placeholders. `match()`
 * reverses it.
 *
 * A template without `$NETWORK` (matrix-appservice-irc's single-network
 * `irc_$NICK`, migrated to `irc_$ID`) can only serve one network: `network`
 * names it, and `match()` answers with it. See template-config.ts for the
 * rule that a bridge with several networks needs `$NETWORK`.
 *
 * User IDs have a strict grammar, so by default values are escaped. Aliases
 * accept almost any character, and operators expect `#irc_libera_#matrix`
 * rather than an escaped form, so alias templates use `{ escape: false }`:
 * values go in as they are (`:` is the only character an alias localpart
 * cannot hold, and remote IDs containing it never match).
 */
export class LocalpartTemplate {
  private readonly pattern: RegExp;
  private readonly order: Array<'network' | 'id'> = [];
  private readonly escape: boolean;
  private readonly network?: string;

  constructor(
    public readonly template: string,
    opts: { escape?: boolean; network?: string } = {},
  ) {
    if (!template.includes('$ID')) throw new Error(`template "${template}" must contain $ID`);
    this.escape = opts.escape ?? true;
    if (!template.includes('$NETWORK')) this.network = opts.network;
    const networkSrc = this.escape ? '((?:[a-z0-9.=\\-/]|_.)+?)' : '([^:]+?)';
    const idSrc = this.escape ? '((?:[a-z0-9.=\\-/]|_.)+)' : '([^:]+)';
    let src = '^';
    const parts = template.split(/(\$NETWORK|\$ID)/);
    for (const part of parts) {
      if (part === '$NETWORK') {
        src += networkSrc;
        this.order.push('network');
      } else if (part === '$ID') {
        src += idSrc;
        this.order.push('id');
      } else src += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    this.pattern = new RegExp(src + '$');
  }

  /** Whether the template names the network (`$NETWORK`). */
  get hasNetwork(): boolean {
    return this.template.includes('$NETWORK');
  }

  render(vars: { network: string; id: string }): string {
    return this.template.replace(/\$NETWORK|\$ID/g, (m) => {
      const value = m === '$ID' ? vars.id : vars.network;
      return this.escape ? escapeLocalpart(value) : value;
    });
  }

  /**
   * The remote parts a localpart was made from, or null if it is not one of ours.
   * With `networks`, the known network names are tried longest first, so a name
   * containing the template's separator (`my_net` in `irc_$NETWORK_$ID`) still parses.
   */
  match(localpart: string, opts: { networks?: readonly string[] } = {}): { network?: string; id: string } | null {
    if (opts.networks && this.order.includes('network')) {
      for (const network of [...opts.networks].sort((a, b) => b.length - a.length)) {
        const literal = this.escape ? escapeLocalpart(network) : network;
        const m = this.compile(literal).exec(localpart);
        if (!m) continue;
        const id = this.escape ? unescapeLocalpart(m[1]) : m[1];
        if (id !== null) return { network, id };
      }
      return null;
    }
    const m = this.pattern.exec(localpart);
    if (!m) return null;
    const out: { network?: string; id?: string } = {};
    for (let i = 0; i < this.order.length; i++) {
      const value = this.escape ? unescapeLocalpart(m[i + 1]) : m[i + 1];
      if (value === null) return null;
      out[this.order[i]] = value;
    }
    if (out.id === undefined) return null;
    if (out.network === undefined && this.network !== undefined) out.network = this.network;
    return out as { network?: string; id: string };
  }

  /** A pattern with the network fixed to a literal and the ID captured. */
  private compile(networkLiteral: string): RegExp {
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const idSrc = this.escape ? '((?:[a-z0-9.=\\-/]|_.)+)' : '([^:]+)';
    return new RegExp(
      '^' +
        this.template
          .split(/(\$NETWORK|\$ID)/)
          .map((part) => (part === '$NETWORK' ? esc(networkLiteral) : part === '$ID' ? idSrc : esc(part)))
          .join('') +
        '$',
    );
  }
}
