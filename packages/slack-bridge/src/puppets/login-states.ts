// The OAuth `state` of a `login` link: a random value bound to the Matrix user who asked and the
// workspace, good for one callback and for `login_ttl_s`. Only its SHA-256 is stored (ctx.data,
// so a restart keeps links alive), and taking it deletes it, so a replayed callback finds nothing.
import { createHash, randomBytes } from 'node:crypto';
import type { KeyValueRepository } from '@causeway/bridge-core';

const NS = 'oauth-login-states';

export interface LoginState {
  userId: string;
  workspace: string;
}

const digest = (state: string) => createHash('sha256').update(state, 'utf8').digest('hex');

export class LoginStates {
  constructor(private readonly data: KeyValueRepository) {}

  /** A new state for `who`, valid for `ttlMs`. */
  async issue(who: LoginState, ttlMs: number): Promise<string> {
    const state = randomBytes(32).toString('base64url');
    await this.data.put<LoginState>(NS, digest(state), who, { expiresAt: Date.now() + ttlMs });
    return state;
  }

  /** The login a state was issued for, once: undefined when unknown, used or expired. */
  async take(state: string): Promise<LoginState | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(state)) return undefined;
    const key = digest(state);
    const who = await this.data.get<LoginState>(NS, key);
    // Only the caller whose delete removed it may use it: two callbacks at once get one login.
    if (!who || !(await this.data.delete(NS, key))) return undefined;
    return who;
  }
}
