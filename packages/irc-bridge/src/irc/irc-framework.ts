// irc-framework ships no types: the subset of its Client that IrcConnection uses, in one place,
// so an upgrade that changes it shows up here.
import { createRequire } from 'node:module';
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
  on(event: string, fn: (...args: never[]) => void): void;
  removeAllListeners(): void;
  /** Adds middleware: `fn(client, rawMiddleware, parsedMiddleware)`; raw middleware sees each parsed line before the handlers. */
  use(fn: (client: unknown, raw: { use(fn: (...args: never[]) => void): void }, parsed: unknown) => void): void;
  connection: {
    on(event: string, fn: (...args: never[]) => void): void;
    write(line: string, cb?: () => void): boolean;
    end(data?: string, hadError?: boolean): void;
    connected: boolean;
    transport?: { socket?: { destroy(): void; localPort?: number } } | null;
    /** Where irc-framework hands each received line to its parser. */
    addReadBuffer(line: string): void;
  };
}
// irc-framework is CommonJS and ships no types: loaded through Node's require, typed by the interfaces above.
export const { Client: IfClientCtor } = createRequire(__filename)('irc-framework') as { Client: new () => IfClient };
