/**
 * irc-framework's TCP/TLS transport with its line splitting replaced by LineReader (bounded,
 * linear; see line-reader.ts). Everything else (connecting, TLS, encodings, closing) is
 * irc-framework's own. A line dropped for its length is reported through the transport's
 * 'extra' events, which irc-framework's connection re-emits under the given name.
 */
import { createRequire } from 'node:module';
import { LineReader } from './line-reader';

/** The event an IrcConnection listens for on irc-framework's connection (with the line's size so far). */
export const LINE_TOO_LONG_EVENT = 'causeway inbound line too long';

interface NetTransport {
  encoding: string;
  emit(event: string, ...args: unknown[]): boolean;
  connect(): void;
}

// irc-framework's own socket transport, extended below (CommonJS without types, like irc-framework.ts).
const NetTransportCtor = createRequire(__filename)('irc-framework/src/transports/net') as new (options: unknown) => NetTransport;
// The iconv-lite irc-framework decodes with (its own copy: encoding-fallback.ts registers codecs on it).
const iconv = createRequire(require.resolve('irc-framework'))('iconv-lite') as { decode(b: Buffer, enc: string): string };

export class BoundedNetTransport extends NetTransportCtor {
  private readonly reader = new LineReader({
    line: (bytes) => this.emit('line', iconv.decode(bytes, this.encoding)),
    tooLong: (bytes) => this.emit('extra', LINE_TOO_LONG_EVENT, bytes),
  });

  override connect(): void {
    this.reader.reset();
    super.connect();
  }

  /** Replaces irc-framework's (called for each chunk the socket reads). */
  onSocketData(data: Buffer): void {
    this.reader.push(data);
  }
}
