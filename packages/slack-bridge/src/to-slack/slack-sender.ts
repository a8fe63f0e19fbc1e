// Every Matrix → Slack call goes through here: stored first (DurableSendStore on ctx.outbox),
// then sent by the send queue (slack/send-queue) one at a time per channel, in order, waiting out
// 429s (Retry-After, per method) and backing off on transient failures. A call whose sending had
// begun before a crash, or that belongs to a Matrix event the core replays, is first looked for on
// Slack (a post carries its Matrix event ID in message metadata), so a lost answer is found instead
// of posting twice. IDs found for a message whose handler is gone go to the message map through
// `ctx.remote.addRemoteIds`.
import type { WebClient } from '@slack/web-api';
import { backoffDelay, BridgeError, type BackoffPolicy } from '@causeway/bridge-core';
import { classifySlackError, SendQueue, SendQueueStoppedError, type PendingSend } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';
import { DurableSendStore } from './durable-store';
import { MATRIX_EVENT_METADATA, type CallResult, type StoredCall } from './slack-call';
import { uploadToSlack } from './upload';
import { channelHas } from './channel-state';
import { sendForMatrixUser } from '../puppets/puppet-send';
import { countRateLimitWait } from '../metrics/slack-metrics';

/** Transient send failures: 0.5 s doubling to a minute, given up after the 8th (the sender is told). */
const SEND_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 60_000, maxRetries: 8 };

/** How far back (seconds before the Matrix event, or the call if earlier) a post whose answer was lost is looked for. */
const LOOKBACK_S = 120;

export class SlackSender {
  readonly store: DurableSendStore;
  private readonly queue: SendQueue<StoredCall, CallResult>;

  constructor(
    private readonly ws: WorkspaceContext,
    private readonly client: WebClient,
    /** Each call Slack accepted, once (restored ones included): shown in the channel's other rooms. */
    private readonly onDelivered: (stored: StoredCall, result: CallResult) => void = () => undefined,
  ) {
    this.store = new DurableSendStore(ws.ctx.outbox.queue('slack-sends'), ws.name);
    this.queue = new SendQueue<StoredCall, CallResult>({
      store: this.store,
      send: (item) => this.send(item),
      classify: (err) => classifySlackError(err),
      onSent: (item, result) => this.sent(item, result),
      onFailed: (item, err) => this.failed(item, err),
      onRetry: (item, failure, delayMs) => {
        ws.ctx.log.info('Slack call waits', { method: item.payload.call.method, failure: failure.type, delayMs });
        if (failure.type === 'ratelimited') countRateLimitWait(ws, item.payload.call.method, delayMs);
      },
      onError: (err) => ws.ctx.log.warn('Slack send queue bookkeeping failed', { err: String(err) }),
      retryDelay: (failures) => backoffDelay(failures - 1, SEND_RETRY),
      maxFailures: 8,
    });
  }

  async start(): Promise<void> {
    const n = await this.queue.start();
    if (n) this.ws.ctx.log.info('Slack calls left by the last run are sent first', { workspace: this.ws.name, count: n });
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stores a call and waits until Slack accepted it; a refusal becomes a BridgeError for the sender. */
  async call(channel: string, stored: StoredCall): Promise<CallResult> {
    try {
      return await this.queue.enqueue(channel, stored.call.method, stored);
    } catch (err) {
      // Stopping: the call stays stored and goes out after the restart, so nobody is told it failed.
      if (err instanceof SendQueueStoppedError)
        throw new BridgeError('The bridge is stopping; this is sent when it is back.', { notify: 'none', cause: err });
      // Already a sentence for the sender (puppets/puppet-send).
      if (err instanceof BridgeError) throw err;
      const code = slackError(err);
      throw new BridgeError(`Slack refused the message${code ? ` (${code})` : ''}.`, { cause: err });
    }
  }

  /** With a puppeted user's token when the call is theirs (puppets/puppet-send), else as the bot. */
  private send(item: PendingSend<StoredCall>): Promise<CallResult> {
    return sendForMatrixUser(this.ws, item.payload, async (userClient) => {
      const r = await this.perform(item, userClient ?? this.client, !!userClient);
      return userClient ? { ...r, asUser: true } : r;
    });
  }

  private async perform(item: PendingSend<StoredCall>, client: WebClient, asUser: boolean): Promise<CallResult> {
    const { call } = item.payload;
    const again = this.store.wasAttempted(item.id) || item.payload.mayExist === true;
    await this.store.markAttempted(item.id);
    if (again && call.method === 'chat.postMessage') {
      const found = await this.findPost(
        client,
        call.args,
        item.payload.eventId,
        Math.min(item.enqueuedAt, item.payload.late?.timestamp ?? Infinity),
      );
      if (found?.ts) return { ts: found.ts, message: found };
    }
    switch (call.method) {
      case 'chat.postMessage': {
        // A user's own post carries their own name and avatar: the relay's overrides are dropped.
        const { username: _u, icon_url: _i, ...own } = call.args;
        const r = await client.apiCall('chat.postMessage', asUser ? own : call.args);
        const ts = (r as { ts?: string }).ts ?? '';
        this.ws.echoes.recordPosted(call.args.channel as string, ts);
        return { ts, ...messageOf(r) };
      }
      case 'chat.update':
        return messageOf(await client.apiCall('chat.update', call.args));
      case 'chat.delete':
        this.ws.echoes.recordDeleted(call.args.channel, call.args.ts);
        try {
          await client.apiCall('chat.delete', call.args);
        } catch (err) {
          if (slackError(err) === 'message_not_found') return {}; // gone already: what was asked
          throw err;
        }
        return {};
      case 'reactions.add':
      case 'reactions.remove':
        try {
          await client.apiCall(call.method, call.args);
        } catch (err) {
          // Another Matrix user's identical reaction is the bot's one reaction on Slack.
          if (['already_reacted', 'no_reaction'].includes(slackError(err) ?? '')) return {};
          throw err;
        }
        return {};
      case 'conversations.setTopic':
      case 'conversations.rename': {
        // Slack reports the change back (a channel_topic message, a channel_rename event), also
        // when a puppet made it: the echo is expected so it is not applied to the room again.
        const [field, value] =
          call.method === 'conversations.setTopic' ? (['topic', call.args.topic] as const) : (['name', call.args.name] as const);
        // Sent before (a lost answer, a crash): Slack would post its "set the topic" line again.
        if (again && (await channelHas(this.ws, call.args.channel, field, value))) return {};
        this.ws.echoes.expectChange(call.args.channel, field, value);
        try {
          await client.apiCall(call.method, call.args);
        } catch (err) {
          this.ws.echoes.cancelChange(call.args.channel, field, value);
          throw err;
        }
        return {};
      }
      case 'files.upload-external':
        return uploadToSlack(this.ws, client, call.args, { eventId: item.payload.eventId, again });
    }
  }

  /** A post of this Matrix event already on Slack (its answer was lost), by its metadata. */
  private async findPost(
    client: WebClient,
    args: Record<string, unknown>,
    eventId: string,
    storedAt: number,
  ): Promise<(Record<string, unknown> & { ts?: string }) | undefined> {
    const channel = args.channel as string;
    const oldest = (Math.floor(storedAt / 1000) - LOOKBACK_S).toString();
    const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
    const r = threadTs
      ? await client.apiCall('conversations.replies', { channel, ts: threadTs, oldest, include_all_metadata: true, limit: 1000 })
      : await client.apiCall('conversations.history', { channel, oldest, include_all_metadata: true, limit: 1000 });
    const messages = ((r as { messages?: unknown }).messages ?? []) as Array<{
      [field: string]: unknown;
      ts?: string;
      bot_id?: string;
      metadata?: { event_type?: string; event_payload?: { event_id?: string } };
    }>;
    const hit = messages.find((m) => m.metadata?.event_type === MATRIX_EVENT_METADATA && m.metadata.event_payload?.event_id === eventId);
    if (hit?.ts) {
      this.ws.ctx.log.info('Slack post found after a lost answer; not sent again', { eventId });
      this.ws.echoes.recordPosted(channel, hit.ts);
    }
    return hit?.ts ? hit : undefined;
  }

  private async sent(item: PendingSend<StoredCall>, result: CallResult): Promise<void> {
    this.onDelivered(item.payload, result);
    const late = item.payload.late;
    if (!late || !result.ts || !this.store.isRestored(item.id)) return;
    const channel = (item.payload.call.args as { channel: string }).channel;
    await this.ws.ctx.remote.addRemoteIds({ message: late, remoteIds: [this.ws.messageId(channel, result.ts)], firstPart: 0 });
  }

  private async failed(item: PendingSend<StoredCall>, err: unknown): Promise<void> {
    this.ws.ctx.log.warn('Slack call failed for good', { method: item.payload.call.method, error: slackError(err) ?? String(err) });
    const { late, tell } = item.payload;
    // Restored after a restart: no handler waits to tell the sender, so they are told here.
    if (!this.store.isRestored(item.id)) return;
    if (late) {
      await this.ws.ctx.notify.notice(
        late.sender.userId,
        `Your message "${late.content.body.slice(0, 80)}" could not be sent to Slack (${slackError(err) ?? 'error'}).`,
      );
    } else if (tell) {
      await this.ws.ctx.notify.notice(tell.userId, `${tell.what} could not be made on Slack (${slackError(err) ?? 'error'}).`);
    }
  }
}

/** The message in a Web API answer (chat.postMessage, chat.update), when it has one. */
function messageOf(answer: unknown): Pick<CallResult, 'message'> {
  const m = (answer as { message?: unknown } | undefined)?.message;
  return m && typeof m === 'object' ? { message: m as Record<string, unknown> } : {};
}

function slackError(err: unknown): string | undefined {
  const e = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof e === 'string' ? e : undefined;
}
