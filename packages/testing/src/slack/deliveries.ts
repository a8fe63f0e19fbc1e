// The record of every event handed to an app: its `event_callback` payload, the transport, each
// attempt and how it ended. Transports update it; specs read it (what did the bridge receive,
// how often was it retried) and wait on it (`idle()`: nothing pending).

export type Json = Record<string, unknown>;

export interface Attempt {
  /** 0 for the first delivery; Socket Mode's `retry_attempt`, HTTP's `X-Slack-Retry-Num`. */
  retry: number;
  reason?: string;
  /** acked (2xx or envelope ack), or why it failed. */
  outcome:
    | 'sent'
    | 'acked'
    | 'ack_dropped'
    | 'http_timeout'
    | 'http_error'
    | 'connection_failed'
    | 'too_many_redirects'
    | 'ssl_error'
    | 'unknown_error'
    | 'unacked';
  status?: number;
  at: number;
}

export interface Delivery {
  eventId: string;
  appId: string;
  teamId: string;
  event: Json;
  payload: Json;
  transport: 'socket' | 'http' | 'none';
  state: 'pending' | 'acked' | 'failed';
  attempts: Attempt[];
}

export class DeliveryLog {
  private all: Delivery[] = [];
  private waiters = new Set<() => void>();

  add(d: Delivery): void {
    this.all.push(d);
    this.changed();
  }

  list(appId?: string): Delivery[] {
    return appId ? this.all.filter((d) => d.appId === appId) : [...this.all];
  }

  pending(appId?: string): Delivery[] {
    return this.list(appId).filter((d) => d.state === 'pending');
  }

  settle(d: Delivery, state: 'acked' | 'failed'): void {
    if (d.state !== 'pending') return;
    d.state = state;
    this.changed();
  }

  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once no delivery (of `appId`) is pending; rejects after `timeoutMs`. */
  idle(appId?: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.pending(appId).length > 0) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `deliveries still pending after ${timeoutMs} ms: ${this.pending(appId)
              .map((d) => `${d.eventId} (${String(d.event.type)})`)
              .join(', ')}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}
