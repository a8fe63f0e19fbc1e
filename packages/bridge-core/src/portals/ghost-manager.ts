/**
 * Ghosts: the Matrix users remote users appear as. The manager maps remote
 * keys to user IDs through the configured template, keeps each ghost's
 * profile in the store, and hands out intents that are registered and have
 * their profile set exactly once (cached in memory, persisted in the store).
 */
import type { GhostKey } from '../connector/ids';
import { ghostKeyString, parseUserId } from '../connector/ids';
import type { GhostService, MediaService } from '../connector/context';
import type { RemoteProfileChange } from '../connector/remote-events';
import type { GhostRecord, GhostRepository } from '../store/store';
import type { Logger } from '../logging/logger';
import { LocalpartTemplate } from './templates';
import { LruMap } from '../util/lru';
import { SingleFlight } from '../util/single-flight';
import type { Intent } from '../matrix/intent';

export interface GhostManagerDeps {
  domain: string;
  botUserId: string;
  template: LocalpartTemplate;
  repo: GhostRepository;
  intentFor(userId: string): Intent;
  /** `fetchRemote`: avatar URLs come from remote users, so they are fetched behind the address guard. */
  media: Pick<MediaService, 'upload' | 'fetchRemote'>;
  log: Logger;
}

const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
/** After an avatar failed to download or upload, the next try waits 1 min, then doubling to 6 h. */
const AVATAR_RETRY = { baseMs: 60_000, maxMs: 6 * 3600_000 };

/** An avatar URL that failed: not tried again, for any message of its ghost, before `retryAt`. */
interface FailedAvatar {
  source: string;
  failures: number;
  retryAt: number;
}

export class GhostManager implements GhostService {
  private readonly records = new LruMap<string, GhostRecord>(20_000);
  // The template and domain never change, so both answers can be remembered: they are asked
  // for on every relayed message and every incoming event, and each asks a regex.
  private readonly userIds = new LruMap<string, string>(20_000);
  private readonly bridgeUsers = new LruMap<string, boolean>(20_000);
  private readonly ensureFlight = new SingleFlight<string, GhostRecord>();
  // Without this a broken avatar URL (404, a dead host) was fetched again for every message of
  // its ghost, each time a 10-second wait in the portal's lane.
  private readonly failedAvatars = new LruMap<string, FailedAvatar>(20_000);

  constructor(private readonly deps: GhostManagerDeps) {}

  userIdFor(key: GhostKey): string {
    const k = ghostKeyString(key);
    let userId = this.userIds.get(k);
    if (userId === undefined) {
      userId = `@${this.deps.template.render({ network: key.network, id: key.id })}:${this.deps.domain}`;
      this.userIds.set(k, userId);
    }
    return userId;
  }

  isBridgeUser(userId: string): boolean {
    if (userId === this.deps.botUserId) return true;
    let yes = this.bridgeUsers.get(userId);
    if (yes === undefined) {
      const parsed = parseUserId(userId);
      yes = !!parsed && parsed.domain === this.deps.domain && this.deps.template.match(parsed.localpart) !== null;
      this.bridgeUsers.set(userId, yes);
    }
    return yes;
  }

  parseLocalpart(localpart: string, networks?: readonly string[]): { network?: string; id: string } | null {
    return this.deps.template.match(localpart, { networks });
  }

  async keyFor(userId: string): Promise<GhostKey | undefined> {
    const rec = await this.deps.repo.getByUserId(userId);
    if (rec) return rec.key;
    const parsed = parseUserId(userId);
    if (!parsed || parsed.domain !== this.deps.domain) return undefined;
    const m = this.deps.template.match(parsed.localpart);
    return m && m.network !== undefined ? { network: m.network, id: m.id } : undefined;
  }

  /**
   * The ghost's intent when nothing has to be done first (known, registered, and the profile as
   * given), without waiting: a remote message from a known sender takes this path every time.
   */
  readyIntent(key: GhostKey, profile: { displayName?: string; avatarUrl?: string } = {}): Intent | undefined {
    const rec = this.records.get(ghostKeyString(key));
    if (!rec) return undefined;
    if (profile.displayName && profile.displayName !== rec.displayName) return undefined;
    if (this.avatarToApply(rec, profile.avatarUrl)) return undefined;
    const intent = this.deps.intentFor(rec.userId);
    return intent.isRegistered ? intent : undefined;
  }

  /**
   * The intent of a remote user's ghost, registered and with its profile
   * applied. After the first call for a ghost this costs no homeserver request
   * unless the profile changed.
   */
  async intent(key: GhostKey, profile: { displayName?: string; avatarUrl?: string } = {}): Promise<Intent> {
    const rec = await this.ensure(key);
    const intent = this.deps.intentFor(rec.userId);
    await intent.ensureRegistered();
    await this.applyProfile(rec, profile);
    return intent;
  }

  /**
   * The ghost's membership in a room as the bridge last saw it (memory, then the store; no
   * homeserver request), so a leave or kick for a ghost that is not in the room is skipped rather
   * than sent and refused. It survives restarts: the store keeps it.
   */
  async cachedMembership(key: GhostKey, roomId: string): Promise<string | undefined> {
    return this.deps.intentFor(this.userIdFor(key)).cachedMembership(roomId);
  }

  async updateProfile(change: RemoteProfileChange): Promise<void> {
    await this.intent(change.ghost, { displayName: change.displayName, avatarUrl: change.avatarUrl });
  }

  private ensure(key: GhostKey): Promise<GhostRecord> {
    const k = ghostKeyString(key);
    const cached = this.records.get(k);
    if (cached) return Promise.resolve(cached);
    return this.ensureFlight.run(k, async () => {
      let rec = await this.deps.repo.get(key);
      if (!rec) {
        rec = { key, userId: this.userIdFor(key) };
        await this.deps.repo.put(rec);
      }
      this.records.set(k, rec);
      return rec;
    });
  }

  private async applyProfile(rec: GhostRecord, profile: { displayName?: string; avatarUrl?: string }): Promise<void> {
    const intent = this.deps.intentFor(rec.userId);
    let changed = false;
    if (profile.displayName && profile.displayName !== rec.displayName) {
      await intent.setDisplayName(profile.displayName);
      rec.displayName = profile.displayName;
      changed = true;
    }
    const source = this.avatarToApply(rec, profile.avatarUrl);
    if (source) {
      try {
        let mxc = source;
        if (!mxc.startsWith('mxc://')) {
          const img = await this.fetchAvatar(source);
          mxc = await this.deps.media.upload(img.data, { name: 'avatar', mimetype: img.mimetype });
        }
        await intent.setAvatarUrl(mxc);
        rec.avatarMxc = mxc;
        rec.avatarSource = source;
        changed = true;
        this.failedAvatars.delete(rec.userId);
      } catch (err) {
        // A broken avatar must not stop messages: log and carry on with the old one, and try
        // this URL again only after a while.
        const prev = this.failedAvatars.get(rec.userId);
        const failures = prev?.source === source ? prev.failures + 1 : 1;
        const wait = Math.min(AVATAR_RETRY.maxMs, AVATAR_RETRY.baseMs * 2 ** Math.min(failures - 1, 20));
        this.failedAvatars.set(rec.userId, { source, failures, retryAt: Date.now() + wait });
        this.deps.log.warn('could not update ghost avatar', {
          userId: rec.userId,
          err: String(err),
          retryInSeconds: Math.round(wait / 1000),
        });
      }
    }
    if (changed) await this.deps.repo.put(rec);
  }

  /**
   * A remote avatar's image. Redirects are followed (avatar hosts use them), each hop behind the
   * address guard. Only an image is accepted: whatever the bridge fetched ends up public on Matrix.
   */
  private async fetchAvatar(url: string): Promise<{ data: Buffer; mimetype: string }> {
    const res = await this.deps.media.fetchRemote(url, { maxBytes: MAX_AVATAR_BYTES, timeoutMs: 10_000 });
    if (res.status < 200 || res.status > 299) throw new Error(`avatar download failed: HTTP ${res.status}`);
    if (!res.mimetype?.startsWith('image/')) throw new Error(`avatar is not an image (${res.mimetype ?? 'no content-type'})`);
    return { data: res.data, mimetype: res.mimetype };
  }

  /** `avatarUrl` when it is new for the ghost and not a recent failure waiting for its retry time. */
  private avatarToApply(rec: GhostRecord, avatarUrl: string | undefined): string | undefined {
    if (!avatarUrl || avatarUrl === rec.avatarSource) return undefined;
    const failed = this.failedAvatars.get(rec.userId);
    return failed && failed.source === avatarUrl && Date.now() < failed.retryAt ? undefined : avatarUrl;
  }
}
