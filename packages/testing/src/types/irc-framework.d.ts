// irc-framework ships no types: the part of its Client that the IRC observer (../inspircd/observer.ts)
// and the IRC benchmark (bench/irc.ts) use. spec/tsconfig.json includes this file for the benchmark.
declare module 'irc-framework' {
  /** Every line sent or received, before irc-framework parses it. */
  export interface RawEvent {
    line: string;
    from_server: boolean;
  }

  export interface ConnectOptions {
    host: string;
    port: number;
    nick: string;
    username?: string;
    gecos?: string;
    auto_reconnect?: boolean;
    version?: string;
    ping_interval?: number;
    ping_timeout?: number;
    enable_chghost?: boolean;
    enable_setname?: boolean;
    message_max_length?: number;
  }

  export class Client {
    /** The client's own user, as the server last named it. */
    readonly user: { nick: string };
    on(event: 'raw', listener: (ev: RawEvent) => void): this;
    once(event: 'registered' | 'close', listener: () => void): this;
    connect(options: ConnectOptions): void;
    raw(line: string): void;
    quit(message?: string): void;
  }
}
