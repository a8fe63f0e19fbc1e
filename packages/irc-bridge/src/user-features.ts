/**
 * Per-user feature flags (`!feature`, MAI's set: `mentions`). Read on every channel line, so
 * they are held in memory: loaded once at start (only users who changed a flag have a record)
 * and written through on change.
 */
import type { KeyValueRepository } from '@causeway/bridge-core';

export const FEATURES = {
  mentions: 'IRC lines that name your nick become mentions (pills) that notify you',
} as const;
export type FeatureName = keyof typeof FEATURES;
type Flags = Partial<Record<FeatureName, boolean>>;

export const FEATURES_NAMESPACE = 'features';
const NAMESPACE = FEATURES_NAMESPACE;

export class UserFeatures {
  private readonly flags = new Map<string, Flags>();

  constructor(private readonly kv: KeyValueRepository) {}

  async load(): Promise<void> {
    for (const { key, value } of await this.kv.list<Flags>(NAMESPACE)) this.flags.set(key, value);
  }

  /** The user's own choice, if they made one. */
  get(userId: string, feature: FeatureName): boolean | undefined {
    return this.flags.get(userId)?.[feature];
  }

  /** Sets a flag, or with `undefined` goes back to the bridge's default. */
  async set(userId: string, feature: FeatureName, value: boolean | undefined): Promise<void> {
    const next: Flags = { ...this.flags.get(userId) };
    if (value === undefined) delete next[feature];
    else next[feature] = value;
    if (Object.keys(next).length) await this.kv.put(NAMESPACE, userId, next);
    else await this.kv.delete(NAMESPACE, userId);
    if (Object.keys(next).length) this.flags.set(userId, next);
    else this.flags.delete(userId);
  }
}
