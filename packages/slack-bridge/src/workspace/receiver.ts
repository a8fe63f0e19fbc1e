// How Slack's events reach one workspace's Bolt app: a Bolt `Receiver` for both transports.
//
// - Socket Mode: the SDK's SocketModeClient (it reconnects on `disconnect` — refresh_requested,
//   warning, link_disabled — and on a missed pong, fetching a fresh ticket each time).
// - Events API: Slack POSTs to a public route on the bridge's appservice listener; a request is
//   accepted only with a valid signature (HMAC-SHA256 over `v0:ts:raw body`, constant-time,
//   ±5 min), `url_verification` included. Everything else gets 401 before the body is parsed.
//
// Either way an envelope is handed to `accept`, which stores it durably (the inbox) before the
// envelope is acknowledged, so an ack never precedes the point where a crash could lose it. Bolt
// then processes stored envelopes (`process`), with our own ack: Slack was answered already.
import type { App, Receiver } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import type { Logger as SlackLogger } from '@slack/logger';
import type { WebClientOptions } from '@slack/web-api';
import type { Logger, RouteContext, RouteResponse } from '@causeway/bridge-core';
import { parseSlackPayload, verifySlackRequest } from '../slack';

export type AcceptEnvelope = (body: Record<string, unknown>, retryNum: number) => Promise<void>;

export type Transport =
  | { kind: 'socket'; appToken: string; clientOptions: WebClientOptions; logger: SlackLogger; clientPingTimeout?: number }
  | { kind: 'http'; signingSecret: string };

export class BridgeReceiver implements Receiver {
  private app?: App;
  private socket?: SocketModeClient;
  private accept?: AcceptEnvelope;

  constructor(
    private readonly transport: Transport,
    private readonly log: Logger,
  ) {}

  init(app: App): void {
    this.app = app;
  }

  /** Where accepted envelopes go; set before `start`. */
  onEnvelope(accept: AcceptEnvelope): void {
    this.accept = accept;
  }

  async start(): Promise<void> {
    if (this.transport.kind !== 'socket') return;
    const t = this.transport;
    const socket = new SocketModeClient({
      appToken: t.appToken,
      clientOptions: t.clientOptions,
      logger: t.logger,
      ...(t.clientPingTimeout ? { clientPingTimeout: t.clientPingTimeout } : {}),
    });
    socket.on('slack_event', (ev: { ack: () => Promise<void>; type: string; body: unknown; retry_num?: number }) => {
      void this.onSocketEvent(ev);
    });
    this.socket = socket;
    await socket.start();
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await s.disconnect().catch(() => undefined);
  }

  /** Hands a stored envelope to Bolt's middleware chain. */
  async process(body: Record<string, unknown>, retryNum: number): Promise<void> {
    if (!this.app) throw new Error('receiver not initialised');
    await this.app.processEvent({ body, retryNum, ack: async () => undefined });
  }

  private async onSocketEvent(ev: { ack: () => Promise<void>; type: string; body: unknown; retry_num?: number }): Promise<void> {
    if (ev.type !== 'events_api' || !isObject(ev.body) || !this.accept) {
      // Interactivity and slash commands are not used by the bridge: acknowledged and dropped.
      await ev.ack().catch(() => undefined);
      return;
    }
    try {
      await this.accept(ev.body, ev.retry_num ?? 0);
    } catch (err) {
      // Not acknowledged: Slack sends it again.
      this.log.warn('Slack event could not be stored; leaving it unacknowledged', { err: String(err) });
      return;
    }
    await ev
      .ack()
      .catch((err) => this.log.debug('ack failed (the event will come again and be dropped as a duplicate)', { err: String(err) }));
  }

  /** The Events API route: POST with Slack's signature. */
  async handleHttp(ctx: RouteContext): Promise<RouteResponse> {
    if (this.transport.kind !== 'http') return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'Not found' } };
    const raw = await ctx.readBody();
    const check = verifySlackRequest(ctx.req.headers, raw, this.transport.signingSecret);
    if (!check.ok) {
      ctx.log.warn('Slack request refused', { reason: check.reason });
      return { status: 401, body: { errcode: 'M_UNAUTHORIZED', error: `Slack signature refused: ${check.reason}` } };
    }
    const payload = parseSlackPayload(raw);
    if (payload.type === 'url_verification') return { status: 200, body: { challenge: payload.challenge } };
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!isObject(body)) return { status: 400, body: { errcode: 'M_NOT_JSON', error: 'The body is not a JSON object.' } };
    if (body.type !== 'event_callback' || !this.accept) return { status: 200, body: {} };
    const retryNum = Number(single(ctx.req.headers['x-slack-retry-num']) ?? 0) || 0;
    try {
      await this.accept(body, retryNum);
    } catch (err) {
      ctx.log.warn('Slack event could not be stored; Slack will retry it', { err: String(err) });
      return { status: 503, body: { errcode: 'M_UNKNOWN', error: 'The event could not be stored; try again.' } };
    }
    return { status: 200, body: {} };
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
