/**
 * Hourly: drop message-map entries past the retention, so the store (and the
 * embedded store's memory) stays bounded. Edits, replies and redactions of
 * older messages then simply do not cross, which is what users expect of
 * anything that old.
 */
import type { MessageRepository } from '../store/store';
import type { Logger } from '../logging/logger';

export class MessageMapPruner {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly messages: MessageRepository,
    private readonly retentionDays: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (!this.retentionDays) return;
    void this.prune();
    this.timer = setInterval(() => void this.prune(), 3_600_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async prune(): Promise<number> {
    try {
      const removed = await this.messages.prune(Date.now() - this.retentionDays * 86_400_000);
      if (removed) this.log.info('message map pruned', { removed, retentionDays: this.retentionDays });
      return removed;
    } catch (err) {
      this.log.warn('message map prune failed', { err: String(err) });
      return 0;
    }
  }
}
