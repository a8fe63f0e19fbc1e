// A Web API client that counts its calls and failures (SlackMetrics), and the rate-limit waits
// the SDK makes itself when it retries a 429 (a client that hands 429s back is counted where the
// send queue waits, to-slack/slack-sender). Every method of the SDK goes through `apiCall`.
import { WebClient, WebClientEvent, type WebAPICallResult, type WebClientOptions } from '@slack/web-api';
import { errorLabel, type SlackMetrics, type TokenKind } from './slack-metrics';

export class MeteredWebClient extends WebClient {
  constructor(
    token: string | undefined,
    options: WebClientOptions,
    private readonly meter: { metrics: SlackMetrics; workspace: string; token: TokenKind },
  ) {
    super(token, options);
    // The SDK announces a 429 also when it hands it back (rejectRateLimitedCalls): that caller waits
    // and counts it itself; only the SDK's own waits are counted here.
    if (options.rejectRateLimitedCalls) return;
    this.on(WebClientEvent.RATE_LIMITED, (retryAfterS: number, info: { url?: string }) => {
      const method = info.url?.split('/').pop() ?? 'unknown';
      const labels = { workspace: meter.workspace, method };
      meter.metrics.rateLimitWaits.inc(labels);
      meter.metrics.rateLimitWaitSeconds.observe(labels, retryAfterS);
    });
  }

  override async apiCall(method: string, options?: Record<string, unknown>): Promise<WebAPICallResult> {
    const { metrics, workspace, token } = this.meter;
    metrics.apiCalls.inc({ workspace, method, token });
    try {
      return await super.apiCall(method, options);
    } catch (err) {
      metrics.apiErrors.inc({ workspace, method, error: errorLabel(err) });
      throw err;
    }
  }
}

/** Slack's own time of an event (event_ts, else the message ts, else event_time), epoch ms. */
function slackEventTimeMs(body: unknown): number | undefined {
  const b = body as { event?: { event_ts?: unknown; ts?: unknown }; event_time?: unknown } | undefined;
  for (const v of [b?.event?.event_ts, b?.event?.ts]) {
    if (typeof v === 'string' && /^\d{9,11}(\.\d{1,6})?$/.test(v)) return Math.round(Number(v) * 1000);
  }
  return typeof b?.event_time === 'number' ? b.event_time * 1000 : undefined;
}

/** An event changed something on Matrix: how long after Slack's own timestamp. */
export function observeEventToMatrix(ws: { metrics: SlackMetrics; name: string }, body: unknown): void {
  const at = slackEventTimeMs(body);
  if (at === undefined) return;
  const type = (body as { event?: { type?: unknown } }).event?.type;
  const event = typeof type === 'string' && /^[a-z_]{1,40}$/.test(type) ? type : 'other';
  ws.metrics.eventToMatrix.observe({ workspace: ws.name, event }, Math.max(0, (Date.now() - at) / 1000));
}
