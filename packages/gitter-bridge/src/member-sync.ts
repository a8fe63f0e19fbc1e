/**
 * Gitter-side joins and leaves. Gitter's chat stream carries messages only (room activity has its
 * own `/events` stream, not part of the documented API this bridge uses), so each linked room's
 * member list is read every `gitter.membership.poll_interval_s` and compared with the last one:
 * who appeared joins as a ghost, who disappeared leaves. The last list is kept in `ctx.data`, so
 * what changed while the bridge was stopped is seen at the first poll after a start; the first
 * poll of a newly linked room only records who is there. The relay account and puppeted users
 * are left out (their membership follows Matrix).
 */
import type { KeyValueRepository, Logger } from '@causeway/bridge-core';
import type { GitterRestClient, GitterUser } from './gitter';
import type { GitterConfig } from './config-schema';

const MEMBERS_NS = 'members';

export interface MemberSyncDeps {
  rest: GitterRestClient;
  data: KeyValueRepository;
  log: Logger;
  /** Whether a Gitter user id is one whose membership is not mirrored (the relay, puppets). */
  excluded(gitterUserId: string): boolean;
  /** The join or leave of `user` in `roomId` (the connector builds and emits the remote event). */
  emit(roomId: string, user: Pick<GitterUser, 'username' | 'displayName' | 'avatarUrl'>, membership: 'join' | 'leave'): Promise<void>;
}

export class MemberSync {
  private readonly rooms = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly cfg: GitterConfig['membership'],
    private readonly deps: MemberSyncDeps,
  ) {}

  start(): void {
    if (this.cfg.poll_interval_s <= 0) return;
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.pollAll());
    }, this.cfg.poll_interval_s * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.rooms.clear();
    await this.running;
  }

  track(roomId: string): void {
    if (this.cfg.poll_interval_s <= 0 || this.rooms.has(roomId)) return;
    this.rooms.add(roomId);
    this.running = this.running.then(() => this.poll(roomId));
  }

  async untrack(roomId: string): Promise<void> {
    this.rooms.delete(roomId);
    await this.deps.data.delete(MEMBERS_NS, roomId).catch(() => false);
  }

  private async pollAll(): Promise<void> {
    for (const roomId of [...this.rooms]) await this.poll(roomId);
  }

  private async poll(roomId: string): Promise<void> {
    if (!this.rooms.has(roomId)) return;
    try {
      const members = (await this.deps.rest.allMembers(roomId, this.cfg.max_members)).filter((u) => !this.deps.excluded(u.id));
      const before = await this.deps.data.get<string[]>(MEMBERS_NS, roomId);
      const now = new Map(members.map((u) => [u.username, u]));
      if (before && this.rooms.has(roomId)) {
        const had = new Set(before);
        for (const [username, user] of now) if (!had.has(username)) await this.deps.emit(roomId, user, 'join');
        for (const username of had) if (!now.has(username)) await this.deps.emit(roomId, { username, displayName: username }, 'leave');
      }
      if (this.rooms.has(roomId)) await this.deps.data.put(MEMBERS_NS, roomId, [...now.keys()]);
    } catch (err) {
      this.deps.log.warn("could not read a Gitter room's members", { roomId, err: String(err) });
    }
  }
}
