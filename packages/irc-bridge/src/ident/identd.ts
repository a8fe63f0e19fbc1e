/**
 * A minimal RFC 1413 identd: answers "<local>, <remote> : USERID : UNIX : <username>"
 * for our own IRC connections, so each Matrix user shows their own ident instead of
 * `~matrixbot`. Unknown port pairs get NO-USER. One query per connection, short
 * timeouts, and nothing but digits accepted, since the port is open to the network.
 */
import net from 'node:net';
import type { Logger } from '@causeway/bridge-core';

export interface IdentdOptions {
  port: number;
  address: string;
  lookup: (localPort: number, remotePort: number) => string | undefined;
  log: Logger;
}

export function answerIdentQuery(line: string, lookup: IdentdOptions['lookup']): string {
  const m = /^\s*(\d{1,5})\s*,\s*(\d{1,5})\s*$/.exec(line);
  if (!m) return '0, 0 : ERROR : INVALID-PORT';
  const local = Number(m[1]);
  const remote = Number(m[2]);
  if (local < 1 || local > 65535 || remote < 1 || remote > 65535) return `${m[1]}, ${m[2]} : ERROR : INVALID-PORT`;
  const user = lookup(local, remote);
  return user ? `${local}, ${remote} : USERID : UNIX : ${user}` : `${local}, ${remote} : ERROR : NO-USER`;
}

export class Identd {
  private server: net.Server | null = null;
  constructor(private readonly opts: IdentdOptions) {}

  get port(): number | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : undefined;
  }

  start(): Promise<void> {
    this.server = net.createServer((sock) => {
      sock.setTimeout(10_000, () => sock.destroy());
      sock.on('error', () => undefined);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.length > 100) {
          sock.destroy();
          return;
        }
        const nl = buf.indexOf('\n');
        if (nl === -1) return;
        sock.end(answerIdentQuery(buf.slice(0, nl).replace(/\r$/, ''), this.opts.lookup) + '\r\n');
      });
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.address, () => {
        this.opts.log.info(`identd listening on ${this.opts.address}:${this.port}`);
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
