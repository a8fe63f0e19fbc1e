// irc-framework ships no types: the subset of its Client that IrcConnection uses, in one place,
// so an upgrade that changes it shows up here.
export interface IfMessage {
  command: string;
  params: string[];
  tags: Record<string, string | true>;
  prefix?: string;
  nick?: string;
  ident?: string;
  hostname?: string;
}
export interface IfClient {
  connect(options: Record<string, unknown>): void;
  on(event: string, fn: (...args: any[]) => void): void;
  removeAllListeners(): void;
  /** Adds middleware: `fn(client, rawMiddleware, parsedMiddleware)`; raw middleware sees each parsed line before the handlers. */
  use(fn: (client: unknown, raw: { use(fn: (...args: any[]) => void): void }, parsed: unknown) => void): void;
  connection: {
    on(event: string, fn: (...args: any[]) => void): void;
    write(line: string, cb?: () => void): boolean;
    end(data?: string, hadError?: boolean): void;
    connected: boolean;
    transport?: { socket?: { destroy(): void; localPort?: number } } | null;
    /** Where irc-framework hands each received line to its parser. */
    addReadBuffer(line: string): void;
  };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const { Client: IfClientCtor } = require('irc-framework') as { Client: new () => IfClient };
