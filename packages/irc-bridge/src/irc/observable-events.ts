// Typed events that many emitters can share one listener object for. A bridge holds one
// connection per user; with a closure per event per connection, listeners were a tenth of its
// memory per user. An observer is one object with a method per event, registered with a tag
// (the connection's owner, say) that each call receives first.
import { EventEmitter } from 'node:events';

/** The event map: event name → argument tuple. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** A method per event it wants, each taking the tag it was registered with, then the event's arguments. */
export type Observer<E extends EventMap<E>, T> = { [K in keyof E]?: (tag: T, ...args: E[K]) => void };

type Listener<A extends unknown[]> = (...args: A) => void;

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
    this.events().on(event, fn as (...a: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    this.events().once(event, fn as (...a: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    this.emitter?.off(event, fn as (...a: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    const obs = this.observers;
    for (let i = 0; i < obs.length; i += 2) {
      const fn = (obs[i] as Observer<E, unknown>)[event] as ((tag: unknown, ...a: E[K]) => void) | undefined;
      if (fn) fn.call(obs[i], obs[i + 1], ...args);
    }
    this.emitter?.emit(event, ...args);
  }

  private events(): EventEmitter {
    if (!this.emitter) {
      this.emitter = new EventEmitter();
      this.emitter.setMaxListeners(100);
    }
    return this.emitter;
  }
}
