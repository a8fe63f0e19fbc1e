// Typed events that many emitters can share one listener object for. A bridge holds one
// connection per user; with a closure per event per connection, listeners were a tenth of its
// memory per user. An observer is one object with a method per event, registered with a tag
// (the connection's owner, say) that each call receives first.
//
// Each observer and listener call is isolated: one that throws is reported (see ObserverFailure)
// and the others still get the event. The events come from the network (a server line, a peer,
// a user's command echoed back); a throw here used to unwind into the socket's data handler and
// end the process, taking every network and user down with it.
import { EventEmitter } from 'node:events';

/** The event map: event name → argument tuple. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** A method per event it wants, each taking the tag it was registered with, then the event's arguments. */
export type Observer<E extends EventMap<E>, T> = { [K in keyof E]?: (tag: T, ...args: E[K]) => void };

type Listener<A extends unknown[]> = (...args: A) => void;

/** An observer or listener that threw: that call is dropped, the emitter and the other observers go on. */
export interface ObserverFailure {
  event: string;
  error: unknown;
}

/** Without a reporter of the owner's, a failure still shows: on stderr, never silently. */
function reportToStderr(f: ObserverFailure): void {
  const err = f.error instanceof Error ? (f.error.stack ?? f.error.message) : String(f.error);
  process.stderr.write(`observer of '${f.event}' failed (event dropped for it): ${err}\n`);
}

export class ObservableEvents<E extends EventMap<E>> {
  /** Observers and their tags, alternating; replaced (never mutated) so an emit in progress is unaffected. */
  private observers: readonly unknown[] = [];
  /** For on()/once(): created by the first of them. */
  private emitter: EventEmitter | undefined;

  /** Calls `observer`'s method for each event, with `tag`; observers run in the order they came, before on() listeners. */
  observe<T>(observer: Observer<E, T>, tag: T): this {
    this.observers = [...this.observers, observer, tag];
    return this;
  }

  unobserve<T>(observer: Observer<E, T>, tag: T): this {
    const next: unknown[] = [];
    for (let i = 0; i < this.observers.length; i += 2) {
      if (this.observers[i] !== observer || this.observers[i + 1] !== tag) next.push(this.observers[i], this.observers[i + 1]);
    }
    this.observers = next;
    return this;
  }

  on<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    this.events().on(event, this.isolated(event, fn));
    return this;
  }

  once<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    this.events().once(event, this.isolated(event, fn));
    return this;
  }

  off<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    const wrapped = this.wrappers?.get(fn as Listener<unknown[]>)?.get(event);
    if (wrapped) this.emitter?.off(event, wrapped);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    const obs = this.observers;
    for (let i = 0; i < obs.length; i += 2) {
      const fn = (obs[i] as Observer<E, unknown>)[event];
      if (!fn) continue;
      try {
        fn.call(obs[i], obs[i + 1], ...args);
      } catch (error) {
        this.failed(event, error);
      }
    }
    this.emitter?.emit(event, ...args);
  }

  /** What on()/once() registered, by the function given and the event, so off() finds it. */
  private wrappers: WeakMap<Listener<unknown[]>, Map<string, (...a: unknown[]) => void>> | undefined;

  private isolated<K extends keyof E & string>(event: K, fn: Listener<E[K]>): (...a: unknown[]) => void {
    const all = (this.wrappers ??= new WeakMap());
    let byEvent = all.get(fn as Listener<unknown[]>);
    if (!byEvent) all.set(fn as Listener<unknown[]>, (byEvent = new Map<string, (...a: unknown[]) => void>()));
    let wrapped = byEvent.get(event);
    if (!wrapped) {
      wrapped = (...a: unknown[]) => {
        try {
          (fn as Listener<unknown[]>)(...a);
        } catch (error) {
          this.failed(event, error);
        }
      };
      byEvent.set(event, wrapped);
    }
    return wrapped;
  }

  /** Where a failed observer call goes; an owner that logs overrides this. */
  protected observerFailed(failure: ObserverFailure): void {
    reportToStderr(failure);
  }

  private failed(event: string, error: unknown): void {
    try {
      this.observerFailed({ event, error });
    } catch {
      // A reporter that throws has nowhere left to report to; the event stays dropped.
    }
  }

  private events(): EventEmitter {
    if (!this.emitter) {
      this.emitter = new EventEmitter();
      this.emitter.setMaxListeners(100);
    }
    return this.emitter;
  }
}
