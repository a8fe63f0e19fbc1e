// One room's Gitter stream: a long-lived GET on the streaming API, read with StreamParser, with a
// stall timer (no byte, not even a keep-alive, for `stallTimeoutMs` → reconnect) and reconnects
// after the owner's `reconnectDelay` (jittered backoff). The stream never replays, so after every
// (re)connect the messages posted while it was down are fetched through REST (`afterId` paging
// from the last message passed on) before the records that arrived meanwhile; each message
// version (id + v) is passed on once, in order. The cursor (`lastId`) is what the connector
// persists to resume after a restart.
//
// `afterId` sees only messages newer than the cursor, so edits and deletions of older ones made
// while the stream was down would be lost. Before it, catch-up therefore re-reads the window of
// history up to the cursor (one page, `recheckWindow` messages): a message there whose `v` is
// above the one passed on is passed on again (an edit), and a message passed on that is in the
// range the page covers but missing from it was deleted (a deleted message is gone from history).
// Why one page of 100 is enough: Gitter allows edits only for 600 s after a message was sent, so
// unless more than 100 messages were posted in the 10 minutes before the cut, every message that
// could still be edited is in it, for the price of one request per reconnect (the rate limit is
// 100 a minute). Deletions have no time limit: a deleted message older than the window is missed.
// Thread replies are not in history, so their edits and deletions while down are missed too.
import { sleep as realSleep, type RetryDelay, type Sleep } from './sleep';
import { classifyStatus, GitterAbortedError, GitterError, GitterHttpError, isRateLimitAnswer } from './errors';
import type { GitterLog, GitterRestClient } from './rest-client';
import { SeenVersions, type SeenEntry } from './seen-versions';
import { StreamParser, type StreamItem } from './stream-parser';
import { messageVersion, type GitterMessage } from './types';

/** A cursor before every possible id: "everything in the room". */
export const BEFORE_ALL_IDS = '000000000000000000000000';

/** How a message reached the caller: live, fetched as new after a gap, or a newer version found re-reading recent history. */
export type MessageSource = 'stream' | 'catch-up' | 'recheck';

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
  /**
   * What an earlier run passed on of the recent messages (saved from `SeenVersions.snapshot`), so
   * the first catch-up after a restart can tell edits and deletions made while it was down.
   */
  resumeSeen?: readonly SeenEntry[];
  /** How many messages up to the cursor catch-up re-reads for edits and deletions (default 100; 0: none). */
  recheckWindow?: number;
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
   * `recheck`: a newer version of a message passed on earlier, edited while the stream was down.
   */
  onMessage: (message: GitterMessage, source: MessageSource) => void | Promise<void>;
  /** A deleted message (delete extension, or found missing by the recheck), with its author's username when known. */
  onRemove?: (id: string, author?: string) => void | Promise<void>;
  onState?: (state: StreamState, detail?: { delayMs?: number; reason?: string }) => void;
  /** Problems that do not stop the stream (bad records, a failed handler, a failed connect). */
  onError?: (error: Error) => void;
  /** The server refused the stream for good (401, 403, 404): the stream has stopped. */
  onFatal?: (error: GitterHttpError) => void;
}

export class RoomStream {
  private readonly seen: SeenVersions;
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
    this.seen = new SeenVersions(10_000, opts.resumeSeen);
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
      let res: Awaited<ReturnType<GitterRestClient['openStream']>>;
      try {
        res = await this.opts.rest.openStream(url, ctl.signal);
      } catch (err) {
        if (this.stopped) return 'stopped';
        return stalled ? 'stalled' : `connect failed: ${describe(err)}`;
      }
      const headers = { get: (name: string) => res.header(name) ?? null };
      this.opts.rest.rateLimit.update(headers);
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        const serverMessage = errorText(text);
        if (isRateLimitAnswer(res.status, serverMessage)) {
          this.opts.rest.rateLimit.refused(headers);
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
          for await (const chunk of res.body) {
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
    await this.recheck(signal);
    for await (const page of rest.messagesAfter(roomId, this.cursor, { pageSize: this.opts.pageSize ?? 100, signal })) {
      for (const message of page) await this.deliver({ kind: 'message', message }, 'catch-up');
    }
  }

  /**
   * Re-reads the history up to the cursor (see the top of the file): edits there with a newer `v`
   * than was passed on, and deletions of messages passed on, are passed on now.
   */
  private async recheck(signal: AbortSignal): Promise<void> {
    const window = Math.min(100, this.opts.recheckWindow ?? 100);
    const cursor = this.cursor;
    if (window <= 0 || cursor === undefined || cursor === BEFORE_ALL_IDS) return;
    // `beforeId` excludes the id itself; the next possible id includes the cursor's message.
    const page = await this.opts.rest.messages(this.opts.roomId, { beforeId: nextId(cursor), limit: window }, signal);
    const listed = new Set<string>();
    for (const message of page) {
      listed.add(message.id);
      const passedOn = this.seen.version(message.id);
      // Not passed on by this bridge (older than it remembers): nothing to compare with.
      if (passedOn === undefined || messageVersion(message) <= passedOn) continue;
      await this.deliver({ kind: 'message', message }, 'recheck');
    }
    // A short page reaches the start of the room; a full one covers from its oldest id.
    const from = page.length < window ? BEFORE_ALL_IDS : page[0].id;
    for (const id of this.seen.liveBetween(from, cursor)) {
      if (!listed.has(id)) await this.deliver({ kind: 'remove', id }, 'recheck');
    }
  }

  private enqueue(item: StreamItem, source: MessageSource): void {
    this.chain = this.chain.then(() => this.deliver(item, source));
  }

  private async deliver(item: StreamItem, source: MessageSource): Promise<void> {
    try {
      if (item.kind === 'message') {
        const m = item.message;
        const passedOn = this.seen.version(m.id);
        const admitted = this.seen.admit(m.id, messageVersion(m), { thread: Boolean(m.parentId), author: m.fromUser?.username });
        if (!admitted) return;
        if (this.cursor === undefined || m.id > this.cursor) this.cursor = m.id;
        // Catch-up fetches messages after the cursor as new, but one already passed on (a saved
        // cursor older than the saved versions: its write failed while theirs did not) is an edit.
        await this.opts.onMessage(m, source === 'catch-up' && passedOn !== undefined ? 'recheck' : source);
      } else if (item.kind === 'remove') {
        if (!this.seen.remove(item.id)) return;
        await this.opts.onRemove?.(item.id, this.seen.author(item.id));
      }
    } catch (err) {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** The id right after `id` (ids are 24 hex digits compared as such): a `beforeId` that includes `id`. */
export function nextId(id: string): string {
  const next = (BigInt(`0x${id}`) + 1n).toString(16).padStart(id.length, '0');
  return next.length > id.length ? id : next;
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
