// Pairs our PRIVMSG/NOTICE lines with their echo (IRCv3 echo-message), to learn the msgid the
// server gave each one. A server handles one client's lines in order and echoes each accepted one
// in the form recipients get, so echoes come back in the order we wrote the lines. A line the
// server refused (404 cannot send, 531 cannot send to user) is forgotten when the refusal
// arrives; one dropped silently never echoes: an echo that matches a later line means the
// earlier ones will not come, and they are forgotten. An echo
// that matches nothing we wait for (a server module rewrote the text) is ignored.

export interface AwaitedEcho {
  command: string;
  target: string;
  /** The trailing parameter exactly as written on the wire. */
  text: string;
  onEcho(msgid: string): void;
}

export interface EchoMatcherOptions {
  /** Lines waited for at most (oldest forgotten first; default 256). */
  max?: number;
  /** Forget lines not echoed after this long (default 60 s): the echo is not coming. */
  maxAgeMs?: number;
  now?: () => number;
}

type Pending = AwaitedEcho & { at: number };

export class EchoMatcher {
  private pending: Pending[] = [];
  /** settled() callers: each waits for the lines it saw pending to leave `pending`. */
  private waiters: Set<{ awaited: Set<Pending>; done(): void }> | undefined; // created by the first settled()
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly sameTarget: (a: string, b: string) => boolean,
    opts: EchoMatcherOptions = {},
  ) {
    this.max = opts.max ?? 256;
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.pending.length;
  }

  /** A line was written whose echo we want. */
  expect(line: AwaitedEcho): void {
    const now = this.now();
    this.pending = this.pending.filter((p) => now - p.at <= this.maxAgeMs);
    if (this.pending.length >= this.max) this.pending.shift();
    this.pending.push({ ...line, at: now });
    this.wake();
  }

  /** An echo of one of our lines arrived; calls the matching line's onEcho. */
  echoed(command: string, target: string, text: string, msgid: string): void {
    const i = this.pending.findIndex((p) => p.command === command && p.text === text && this.sameTarget(p.target, target));
    if (i === -1) return;
    const [hit] = this.pending.splice(0, i + 1).slice(-1);
    hit.onEcho(msgid);
    this.wake();
  }

  /**
   * The server refused a line to `target` (404 cannot send, 531 cannot send to user, ...): it
   * handles a client's lines in order, so it was the oldest still waiting for that target. Its
   * echo will not come, and whoever waits for the target's echoes stops waiting for it now.
   */
  refused(target: string): void {
    const i = this.pending.findIndex((p) => this.sameTarget(p.target, target));
    if (i === -1) return;
    this.pending.splice(i, 1);
    this.wake();
  }

  /**
   * The connection dropped: echoes of lines written on it will not come. Returns the lines still
   * waiting, in the order written: the server never confirmed them, so they may not have arrived.
   */
  clear(): Array<{ command: string; target: string; text: string }> {
    const dropped = this.pending.map(({ command, target, text }) => ({ command, target, text }));
    this.pending = [];
    this.wake();
    return dropped;
  }

  /**
   * Resolves once each line to `target` written so far has echoed (its onEcho has run) or been
   * given up on (a later line echoed first, the connection dropped, it aged out), or after
   * `timeoutMs` at the latest. Undefined when no line to `target` is waiting for its echo.
   */
  settled(target: string, timeoutMs: number): Promise<void> | undefined {
    const awaited = new Set(this.pending.filter((p) => this.sameTarget(p.target, target)));
    if (!awaited.size) return undefined;
    return new Promise<void>((resolve) => {
      const waiter = {
        awaited,
        done: () => {
          clearTimeout(timer);
          this.waiters?.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, timeoutMs);
      timer.unref?.();
      (this.waiters ??= new Set()).add(waiter);
    });
  }

  private wake(): void {
    if (!this.waiters?.size) return;
    const still = new Set(this.pending);
    for (const w of [...this.waiters]) {
      for (const p of w.awaited) if (!still.has(p)) w.awaited.delete(p);
      if (!w.awaited.size) w.done();
    }
  }
}
