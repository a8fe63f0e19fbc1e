// Local accounts, access tokens, devices, account data and OpenID tokens.
import { MatrixError } from './errors';
import { newToken, randomString } from './util';

export interface Account {
  userId: string;
  localpart: string;
  displayname?: string;
  avatar_url?: string;
  password?: string;
  /** Set when an appservice registered the user (a "ghost"). */
  appserviceId?: string;
  devices: Set<string>;
  accountData: Map<string, unknown>;
  roomAccountData: Map<string, Map<string, unknown>>;
  presence?: { presence: string; status_msg?: string; last_active: number };
}

export interface TokenInfo {
  userId: string;
  deviceId?: string;
}

// Synapse: "User ID can only contain characters a-z, 0-9, or '=_-./+'".
const LOCALPART_RE = /^[a-z0-9._=\-/+]+$/;

export class UserStore {
  private accounts = new Map<string, Account>();
  private tokens = new Map<string, TokenInfo>();
  private openid = new Map<string, { userId: string; expiresAt: number }>();

  constructor(readonly serverName: string) {}

  userIdFor(localpart: string): string {
    return `@${localpart}:${this.serverName}`;
  }

  isLocal(userId: string): boolean {
    return userId.endsWith(':' + this.serverName) && userId[0] === '@';
  }

  /** Throws M_INVALID_USERNAME the way Synapse's check_username does. */
  validateLocalpart(localpart: unknown): asserts localpart is string {
    if (typeof localpart !== 'string' || localpart === '') {
      throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID cannot be empty');
    }
    if (!LOCALPART_RE.test(localpart)) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', "User ID can only contain characters a-z, 0-9, or '=_-./+'");
    }
    if (this.userIdFor(localpart).length > 255) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may not be longer than 255 characters');
    }
  }

  get(userId: string): Account | undefined {
    return this.accounts.get(userId);
  }

  exists(userId: string): boolean {
    return this.accounts.has(userId);
  }

  create(localpart: string, opts: { displayname?: string; password?: string; appserviceId?: string } = {}): Account {
    const userId = this.userIdFor(localpart);
    if (this.accounts.has(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    const acct: Account = {
      userId,
      localpart,
      // Synapse defaults the display name to the localpart.
      displayname: opts.displayname ?? localpart,
      password: opts.password,
      appserviceId: opts.appserviceId,
      devices: new Set(),
      accountData: new Map(),
      roomAccountData: new Map(),
    };
    this.accounts.set(userId, acct);
    return acct;
  }

  /** Logs a device in; returns the new access token. */
  login(userId: string, deviceId?: string): { accessToken: string; deviceId: string } {
    const acct = this.accounts.get(userId);
    if (!acct) throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
    const dev = deviceId ?? randomString(10).toUpperCase();
    acct.devices.add(dev);
    const accessToken = newToken('syt_');
    this.tokens.set(accessToken, { userId, deviceId: dev });
    return { accessToken, deviceId: dev };
  }

  resolveToken(token: string): TokenInfo | undefined {
    return this.tokens.get(token);
  }

  logout(token: string): void {
    this.tokens.delete(token);
  }

  issueOpenIdToken(userId: string, expiresInMs: number): string {
    const token = newToken('oid_');
    this.openid.set(token, { userId, expiresAt: Date.now() + expiresInMs });
    return token;
  }

  resolveOpenIdToken(token: string): string | undefined {
    const t = this.openid.get(token);
    if (!t) return undefined;
    if (t.expiresAt < Date.now()) {
      this.openid.delete(token);
      return undefined;
    }
    return t.userId;
  }
}
