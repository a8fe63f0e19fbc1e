// A plain irc-framework client used by tests as an independent witness: it sees what other IRC
// users would see, so assertions do not rely on the code under test.
import { Client } from 'irc-framework';
import type { InspircdHandle } from './index';

export interface Observer {
  nick: string;
  /** Every raw line received from the server. */
  lines: string[];
  raw(line: string): void;
  join(channel: string): Promise<void>;
  /** Waits until a received line matches (checking lines already received since `fromIndex`). */
  waitFor(pred: (line: string) => boolean, timeoutMs?: number, fromIndex?: number): Promise<string>;
  /** WHOIS reply lines up to 318. */
  whois(nick: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function connectObserver(server: Pick<InspircdHandle, 'host' | 'port'>, nick: string): Promise<Observer> {
  const client = new Client();
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  client.on('raw', (ev) => {
    if (!ev.from_server) return;
    lines.push(ev.line.replace(/[\r\n]+$/, ''));
    for (const l of [...listeners]) l();
  });
  const waitFor = (pred: (line: string) => boolean, timeoutMs = 5000, fromIndex = 0) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = lines.slice(fromIndex).find(pred);
        if (hit !== undefined) {
          listeners.delete(check);
          clearTimeout(t);
          resolve(hit);
          return true;
        }
        return false;
      };
      const t = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`observer ${nick}: no matching line in ${timeoutMs} ms; last lines:\n${lines.slice(-10).join('\n')}`));
      }, timeoutMs);
      if (!check()) listeners.add(check);
    });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('observer did not register')), 10000);
    client.once('registered', () => {
      clearTimeout(t);
      resolve();
    });
    client.connect({
      host: server.host,
      port: server.port,
      nick,
      username: 'observer',
      gecos: 'observer',
      auto_reconnect: false,
      version: '',
    });
  });
  const obs: Observer = {
    nick,
    lines,
    raw: (line) => client.raw(line),
    async join(channel) {
      const from = lines.length;
      client.raw(`JOIN ${channel}`);
      await waitFor((l) => / 366 /.test(l) && l.includes(channel), 5000, from);
    },
    waitFor,
    async whois(target) {
      const from = lines.length;
      client.raw(`WHOIS ${target}`);
      await waitFor((l) => / 318 /.test(l), 5000, from);
      return lines.slice(from).filter((l) => / (3\d\d|401) /.test(l));
    },
    close: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        client.quit('observer done');
      }),
  };
  return obs;
}
