// One room's Gitter stream: a long-lived GET on the streaming API, read with StreamParser, with a
// stall timer (no byte, not even a keep-alive, for `stallTimeoutMs` → reconnect) and reconnects
// after the owner's `reconnectDelay` (jittered backoff). The stream never replays, so after every
// (re)connect the messages posted while it was down are fetched through REST (`afterId` paging
// from the last message passed on) before the records that arrived meanwhile; each message
// version (id + v) is passed on once, in order. The cursor (`lastId`) is what the connector
// persists to resume after a restart.
//
// Limits of what Gitter offers: catch-up sees messages newer than the cursor (in their current
// version), not edits or deletes of older ones made while disconnected, nor thread replies
// (history leaves them out).
import { sleep as realSleep, type RetryDelay, type Sleep } from './sleep';
import { classifyStatus, GitterAbortedError, GitterError, GitterHttpError, isRateLimitAnswer } from './errors';
import type { GitterLog, GitterRestClient } from './rest-client';
import { SeenVersions } from './seen-versions';
import { StreamParser, type StreamItem } from './stream-parser';
import { messageVersion, type GitterMessage } from './types';

/** A cursor before every possible id: "everything in the room". */
export const BEFORE_ALL_IDS = '000000000000000000000000';

export type StreamState = 'connecting' | 'catching_up' | 'live' | 'waiting' | 'stopped';

export interface RoomStreamOptions {
  /** E.g. https://stream.gitter.im/v1 */
  streamBaseUrl: string;
  roomId: string;
  /** Gives the token's headers and rate-limit tracker, and runs the catch-up. */
  rest: GitterRestClient;
  /**
   * The cursor saved from an earlier run: messages after it are caught up on at the first
   * connect. Without it the first connect starts from the room's newest message.
   */
  resumeAfterId?: string;
  /** No data for this long → reconnect (default 90 s; keep it a few keep-alive intervals). */
  stallTimeoutMs?: number;
  /** The wait before each reconnect (the bridge's backoff policy). */
  reconnectDelay: RetryDelay;
  /** A connection that lasted this long starts the backoff over (default 60 s). */
  healthyAfterMs?: number;
  /** Catch-up page size (default 100, Gitter's maximum). */
  pageSize?: number;
  sleep?: Sleep;
  log?: GitterLog;
  /**
   * Each new message or newer version, in order; awaited before the next. A handler that throws
   * is reported to onError and the message counts as passed on (it is not offered again).
   */
  onMessage: (message: GitterMessage, source: 'stream' | 'catch-up') => void | Promise<void>;
  /** A deleted message (delete extension). */
  onRemove?: (id: string) => void | Promise<void>;
  onState?: (state: StreamState, detail?: { delayMs?: number; reason?: string }) => void;
  /** Problems that do not stop the stream (bad records, a failed handler, a failed connect). */
  onError?: (error: Error) => void;
  /** The server refused the stream for good (401, 403, 404): the stream has stopped. */
  onFatal?: (error: GitterHttpError) => void;
}

export class RoomStream {
  private readonly seen = new SeenVersions();
  private readonly stopCtl = new AbortController();
  private readonly sleep: Sleep;
  private cursor: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private run: Promise<void> | undefined;
  private current: AbortController | undefined;
  private _state: StreamState = 'stopped';
  /** Connections made, and chunks read (keep-alives included), for specs and metrics. */
  connects = 0;
  chunksReceived = 0;

  constructor(private readonly opts: RoomStreamOptions) {
    this.sleep = opts.sleep ?? realSleep;
    this.cursor = opts.resumeAfterId;
  }

  /** The id of the newest message passed on (or the starting point): persist it to resume. */
  get lastId(): string | undefined {
    return this.cursor;
  }

  get state(): StreamState {
    return this._state;
  }

  start(): void {
    if (this.run) return;
    this.run = this.loop().catch((err) => this.opts.onError?.(err instanceof Error ? err : new Error(String(err))));
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.current?.abort();
    await this.run;
    await this.chain;
    this.setState('stopped');
  }

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private setState(state: StreamState, detail?: { delayMs?: number; reason?: string }): void {
    this._state = state;
    this.opts.onState?.(state, detail);
  }

  private async loop(): Promise<void> {
    const url = `${this.opts.streamBaseUrl.replace(/\/+$/, '')}/rooms/${encodeURIComponent(this.opts.roomId)}/chatMessages`;
    const healthyAfter = this.opts.healthyAfterMs ?? 60_000;
    let failures = 0;
    while (!this.stopped) {
      const started = Date.now();
      const reason = await this.connectOnce(url).catch((err: unknown) => {
        if (err instanceof GitterHttpError && ['unauthorized', 'forbidden', 'not_found'].includes(err.kind)) return err;
        if (!this.stopped) this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
        return 'failed';
      });
      if (this.stopped) return;
      if (reason instanceof GitterHttpError) {
        this.opts.log?.warn?.('Gitter stream refused; not reconnecting', { roomId: this.opts.roomId, status: reason.status });
        this.setState('stopped', { reason: reason.message });
        this.opts.onFatal?.(reason);
        return;
      }
      if (reason === 'rate_limited') continue; // the tracker makes the next connect wait
      failures = Date.now() - started >= healthyAfter ? 1 : failures + 1;
      const delayMs = this.opts.reconnectDelay(failures);
      this.setState('waiting', { delayMs, reason });
      try {
        await this.sleep(delayMs, this.stopCtl.signal);
      } catch (err) {
        if (err instanceof GitterAbortedError) return;
        throw err;
      }
    }
  }

  /** One connection, from request to end; resolves with why it ended. */
  private async connectOnce(url: string): Promise<string> {
    this.setState('connecting');
    const ctl = new AbortController();
    this.current = ctl;
    const onStop = () => ctl.abort();
    this.stopCtl.signal.addEventListener('abort', onStop, { once: true });
    const stallMs = this.opts.stallTimeoutMs ?? 90_000;
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const armStall = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        ctl.abort();
      }, stallMs);
    };
    try {
      await this.opts.rest.rateLimit.acquire(ctl.signal);
      armStall();
      this.connects++;
      let res: Response;
      try {
        res = await fetch(url, { headers: this.opts.rest.authHeaders(), signal: ctl.signal });
      } catch (err) {
        if (this.stopped) return 'stopped';
        return stalled ? 'stalled' : `connect failed: ${describe(err)}`;
      }
      this.opts.rest.rateLimit.update(res.headers);
      if (res.status !== 200 || !res.body) {
        const text = await res.text().catch(() => '');
        const serverMessage = errorText(text);
        if (isRateLimitAnswer(res.status, serverMessage)) {
          this.opts.rest.rateLimit.refused(res.headers);
          return 'rate_limited';
        }
        throw new GitterHttpError(
          classifyStatus(res.status),
          res.status,
          serverMessage,
          'GET',
          `(stream) /rooms/${this.opts.roomId}/chatMessages`,
        );
      }
      armStall();
      // Records read while catching up wait here, then go out after the history.
      const held: StreamItem[] = [];
      let live = false;
      const parser = new StreamParser({
        onInvalid: (why) => this.opts.onError?.(new GitterError(`Gitter stream record skipped (${why})`)),
      });
      const sink = (items: StreamItem[]) => {
        if (live) for (const item of items) this.enqueue(item, 'stream');
        else held.push(...items);
      };
      const reading = (async () => {
        try {
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            armStall();
            this.chunksReceived++;
            sink(parser.push(chunk));
          }
          sink(parser.end());
          return 'ended';
        } catch {
          return stalled ? 'stalled' : this.stopped ? 'stopped' : 'connection lost';
        }
      })();
      this.setState('catching_up');
      try {
        await this.catchUp(ctl.signal);
      } catch (err) {
        ctl.abort();
        await reading;
        if (this.stopped) return 'stopped';
        if (stalled) return 'stalled';
        throw err;
      }
      for (const item of held.splice(0)) this.enqueue(item, 'stream');
      live = true;
      this.setState('live');
      return await reading;
    } finally {
      clearTimeout(timer);
      this.stopCtl.signal.removeEventListener('abort', onStop);
      this.current = undefined;
    }
  }

  private async catchUp(signal: AbortSignal): Promise<void> {
    await this.chain; // everything from the previous connection has been passed on
    const { rest, roomId } = this.opts;
    if (this.cursor === undefined) {
      // No history wanted on a first start: begin after the newest message there is now.
      const [newest] = await rest.messages(roomId, { limit: 1 }, signal);
      this.cursor = newest?.id ?? BEFORE_ALL_IDS;
      return;
    }
    for await (const page of rest.messagesAfter(roomId, this.cursor, { pageSize: this.opts.pageSize ?? 100, signal })) {
      for (const message of page) await this.deliver({ kind: 'message', message }, 'catch-up');
    }
  }

  private enqueue(item: StreamItem, source: 'stream' | 'catch-up'): void {
    this.chain = this.chain.then(() => this.deliver(item, source));
  }

  private async deliver(item: StreamItem, source: 'stream' | 'catch-up'): Promise<void> {
    try {
      if (item.kind === 'message') {
        const m = item.message;
        if (!this.seen.admit(m.id, messageVersion(m))) return;
        if (this.cursor === undefined || m.id > this.cursor) this.cursor = m.id;
        await this.opts.onMessage(m, source);
      } else if (item.kind === 'remove') {
        if (!this.seen.remove(item.id)) return;
        await this.opts.onRemove?.(item.id);
      }
    } catch (err) {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function errorText(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200);
}

function describe(err: unknown): string {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}
