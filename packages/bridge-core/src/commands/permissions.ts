/**
 * Who may use the bridge and who is a bridge admin, from user-ID globs in the
 * config (`@*:example.org`, `@admin:example.org`, `*`).
 */

/** A syntactically plausible Matrix user ID: `@localpart:server`. */
const USER_ID_RE = /^@[^:\s]+:[^\s]+$/;

function globPartToRegex(glob: string, star: string): string {
  let out = '';
  for (const c of glob) {
    if (c === '*') out += star;
    else if (c === '?') out += star === '.*' ? '.' : '[^:]';
    else out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

/**
 * Compile a user-ID glob. `*` alone matches every user ID. Otherwise `*` is any
 * run of characters and `?` any one character, everything else literal; when
 * the glob has a `:`, the part before it is matched against the localpart
 * (where wildcards never cross the `:`) and the rest against the whole server
 * name (case-insensitively, port included), so `@*:example.org` does not match
 * `@evil:example.org.attacker.com`.
 */
export function compileUserGlob(glob: string): (userId: string) => boolean {
  const g = glob.trim();
  if (!g) return () => false;
  if (g === '*') return (userId) => USER_ID_RE.test(userId);
  const colon = g.indexOf(':');
  if (colon < 0) {
    const re = new RegExp(`^${globPartToRegex(g, '.*')}$`, 's');
    return (userId) => USER_ID_RE.test(userId) && re.test(userId);
  }
  const local = new RegExp(`^${globPartToRegex(g.slice(0, colon), '[^:]*')}$`, 's');
  const server = new RegExp(`^${globPartToRegex(g.slice(colon + 1), '.*')}$`, 'is');
  return (userId) => {
    if (!USER_ID_RE.test(userId)) return false;
    const i = userId.indexOf(':');
    return local.test(userId.slice(0, i)) && server.test(userId.slice(i + 1));
  };
}

/** Whether a Matrix user ID matches a glob (see compileUserGlob). */
export function matchesUserGlob(userId: string, glob: string): boolean {
  return compileUserGlob(glob)(userId);
}

export interface PermissionConfig {
  /** Globs of bridge admins (may run admin commands; may always use the bridge). */
  admins?: string[];
  /**
   * Globs of users allowed to use the bridge. Absent: everyone. An empty list:
   * nobody but the admins.
   */
  users?: string[];
  /** Why a user is banned by a followed ban list, if they are (admins are exempt). */
  bannedFor?: (userId: string) => string | undefined;
}

export type PermissionLevel = 'admin' | 'user' | 'none';

export class PermissionChecker {
  private readonly admins: Array<(userId: string) => boolean>;
  private readonly users: Array<(userId: string) => boolean> | undefined;
  private readonly bannedFor?: (userId: string) => string | undefined;

  constructor(config: PermissionConfig = {}) {
    this.admins = (config.admins ?? []).map(compileUserGlob);
    this.users = config.users?.map(compileUserGlob);
    this.bannedFor = config.bannedFor;
  }

  isAdmin(userId: string): boolean {
    return this.admins.some((m) => m(userId));
  }

  mayUseBridge(userId: string): boolean {
    if (this.isAdmin(userId)) return true;
    if (!USER_ID_RE.test(userId)) return false;
    if (this.bannedFor?.(userId) !== undefined) return false;
    return this.users === undefined || this.users.some((m) => m(userId));
  }

  level(userId: string): PermissionLevel {
    return this.isAdmin(userId) ? 'admin' : this.mayUseBridge(userId) ? 'user' : 'none';
  }
}
