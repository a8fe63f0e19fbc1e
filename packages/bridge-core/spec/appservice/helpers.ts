import * as http from 'node:http';
import { AppserviceServer, type AppserviceHandlers, type AppserviceServerOptions } from '../../src/appservice/http-server';
import { DeliveryPipeline, type DeliveryPipelineOptions } from '../../src/appservice/delivery';
import type { MatrixEvent } from '../../src/matrix/event';
import { httpCall, type HttpReply } from '@causeway/testing';

export const HS_TOKEN = 'hs-token-0123456789abcdef';

export interface Harness {
  server: AppserviceServer;
  pipeline: DeliveryPipeline;
  base: string;
  close(): Promise<void>;
}

export async function startHarness(
  pipelineOpts: DeliveryPipelineOptions,
  serverOpts: Partial<AppserviceServerOptions> = {},
  handlers: Partial<AppserviceHandlers> = {},
): Promise<Harness> {
  const pipeline = await DeliveryPipeline.open(pipelineOpts);
  const server = new AppserviceServer({
    hsToken: HS_TOKEN,
    transactions: pipeline,
    handlers: {
      onUserQuery: async () => false,
      onAliasQuery: async () => false,
      ...handlers,
    },
    ...serverOpts,
  });
  const addr = await server.listen(0, '127.0.0.1');
  return {
    server,
    pipeline,
    base: `http://127.0.0.1:${addr.port}`,
    async close() {
      await server.close();
      await pipeline.close();
    },
  };
}

/** A call to the appservice listener, with the hs_token unless `token` says otherwise (null = none). */
export function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  return httpCall(base, method, path, { ...opts, token: opts.token === undefined ? HS_TOKEN : opts.token });
}

export function ev(room: string, id: string, extra: Partial<MatrixEvent> = {}): MatrixEvent {
  return {
    type: 'm.room.message',
    room_id: room,
    sender: '@alice:hs',
    event_id: id,
    origin_server_ts: 1_700_000_000_000,
    content: { msgtype: 'm.text', body: `message ${id}` },
    ...extra,
  };
}

export function txn(base: string, txnId: string, events: unknown[], extra: Record<string, unknown> = {}): Promise<HttpReply> {
  return call(base, 'PUT', `/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, { body: { events, ...extra } });
}

/** A promise you resolve from outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Raw HTTP/1.1 request (for bodies fetch would not send as-is). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
  chunked = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        data += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) {
      if (chunked) {
        const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
        for (let o = 0; o < buf.length; o += 1024) req.write(buf.subarray(o, o + 1024));
      } else req.write(body);
    }
    req.end();
  });
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}
