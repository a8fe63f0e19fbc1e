/**
 * The Matrix half of a minimal relay: an appservice transaction listener that hands each
 * m.room.message from someone else to `onMessage` (its own echoes are read and dropped), and one
 * `PUT /send` per message the other way (bare undici, keep-alive, the appservice token). One
 * request at a time per room or channel (`inOrder`), so each keeps its order as a bridge's does.
 */
import * as http from 'node:http';
import { Pool } from 'undici';
import { MINIMAL_AS_TOKEN, MINIMAL_USER } from './hs-role';

export interface MinimalMatrix {
  /** Starts the transaction listener; resolves with its URL (for the appservice registration). */
  listen(onMessage: (roomId: string, body: string) => void): Promise<string>;
  /** Sends `body` into `roomId` as the relay's user. */
  send(roomId: string, body: string): Promise<void>;
  connect(hsUrl: string): void;
  inOrder(key: string, f: () => Promise<void>): void;
}

/**
 * The fields of a pushed event the relay reads, as the Matrix spec defines them. Taken as given,
 * not checked field by field: the relay is the baseline, and checks would add to the cost it measures.
 */
interface TxnEvent {
  type: string;
  sender: string;
  room_id: string;
  content?: { body?: string };
}

export function minimalMatrix(): MinimalMatrix {
  let pool: Pool | undefined;
  let txn = 0;
  const tails = new Map<string, Promise<void>>();
  return {
    async listen(onMessage) {
      const server = http.createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as { events?: TxnEvent[] };
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
          for (const ev of body.events ?? [])
            if (ev.type === 'm.room.message' && ev.sender !== MINIMAL_USER) onMessage(ev.room_id, ev.content?.body ?? '');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      server.unref();
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    connect(hsUrl) {
      pool = new Pool(hsUrl, { connections: 16 });
    },
    async send(roomId, body) {
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/r${txn++}?user_id=${encodeURIComponent(MINIMAL_USER)}`;
      const res = await pool!.request({
        method: 'PUT',
        path,
        headers: { authorization: `Bearer ${MINIMAL_AS_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ msgtype: 'm.text', body }),
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`${res.statusCode} for PUT /send`);
    },
    inOrder(key, f) {
      tails.set(
        key,
        (tails.get(key) ?? Promise.resolve()).then(f).catch((err) => console.error(`minimal relay: ${String(err)}`)),
      );
    },
  };
}
