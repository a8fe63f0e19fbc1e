/**
 * Power levels from IRC modes, written once per burst (MAI's `powerLevelGracePeriodMs`). ChanServ
 * opping everyone after a netjoin, or an op voicing a crowd one MODE line at a time, would
 * otherwise be one read and one `m.room.power_levels` write each: a timeline full of "changed the
 * power level" events and a homeserver busy with them. Changes to a channel are collected for
 * `graceMs` after the first and applied together; a user changed twice keeps the last level and,
 * for Matrix users, the level the burst started from (see RemoteRoomSettings.powerLevels).
 */
import type { RemoteRoomSettings } from '@causeway/bridge-core';

/** One user's new level, as the core's settings event carries it. */
export type LevelChange = NonNullable<RemoteRoomSettings['powerLevels']>[number];

export class PowerLevelBatch {
  private readonly pending = new Map<string, { channel: string; changes: Map<string, LevelChange>; timer: NodeJS.Timeout }>();

  /** `key` folds channel names (the network's casemapping); `flush` applies one burst. */
  constructor(
    private readonly graceMs: number,
    private readonly key: (channel: string) => string,
    private readonly flush: (channel: string, changes: LevelChange[]) => void,
  ) {}

  add(channel: string, changes: LevelChange[]): void {
    if (this.graceMs <= 0) return this.flush(channel, changes);
    const k = this.key(channel);
    let p = this.pending.get(k);
    if (!p) {
      const entry = { channel, changes: new Map<string, LevelChange>(), timer: undefined as unknown as NodeJS.Timeout };
      entry.timer = setTimeout(() => {
        this.pending.delete(k);
        this.flush(entry.channel, [...entry.changes.values()]);
      }, this.graceMs);
      entry.timer.unref();
      this.pending.set(k, (p = entry));
    }
    for (const c of changes) {
      const who = c.matrixUserId !== undefined ? `m\u0000${c.matrixUserId}` : `g\u0000${c.ghost?.id}`;
      const earlier = p.changes.get(who);
      p.changes.set(who, earlier && c.matrixUserId !== undefined ? { ...c, previous: earlier.previous } : c);
    }
  }

  /** Drops what is pending (the bridge is stopping; the next NAMES sets levels again). */
  stop(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
