// Slack delivers an event more than once (Events API retries with X-Slack-Retry-Num after a slow or
// failed answer, Socket Mode re-sends of unacknowledged envelopes, a reconnect mid-burst): each
// `event_id` is remembered for a window (config `dedupe_window_hours`), in `ctx.data` so a
// restart does not bridge an event again, and in memory for the hot path.
import type { KeyValueRepository } from '@causeway/bridge-core';

const NAMESPACE = 'event-ids';
/** Expired IDs leave memory every this many new ones (the store sweeps its own). */
const SWEEP_EVERY = 1000;

export class EventDedupe {
  private readonly seen = new Map<string, number>();
  private adds = 0;

  constructor(
    private readonly data: KeyValueRepository,
    private readonly workspace: string,
    private readonly windowMs: number,
  ) {}

  private key(eventId: string): string {
    return `${this.workspace}\u0000${eventId}`;
  }

  /** Loads the IDs the last run recorded (expired ones are invisible to the store). */
  async load(): Promise<void> {
    for (const { key, value } of await this.data.list<number>(NAMESPACE, { prefix: `${this.workspace}\u0000` })) {
      this.seen.set(key.slice(this.workspace.length + 1), value);
    }
  }

  has(eventId: string): boolean {
    const until = this.seen.get(eventId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.seen.delete(eventId);
    return false;
  }

  /** Records an event as bridged; resolves once stored. */
  async add(eventId: string): Promise<void> {
    const now = Date.now();
    const until = now + this.windowMs;
    this.seen.set(eventId, until);
    if (++this.adds % SWEEP_EVERY === 0) for (const [id, t] of this.seen) if (t <= now) this.seen.delete(id);
    await this.data.put(NAMESPACE, this.key(eventId), until, { expiresAt: until });
  }
}
