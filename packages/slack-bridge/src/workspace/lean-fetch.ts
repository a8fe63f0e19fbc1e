// The `fetch` the Slack SDK's WebClients are given: Web API calls (form-encoded POSTs answered with
// JSON, one per message relayed to Slack) go through the core's HttpPool, a keep-alive undici pool
// per origin with the answer read whole, instead of the global fetch, whose request and response
// web streams cost more CPU than the call itself. Anything else (a multipart body) goes to the
// global fetch unchanged.
import { HttpPools } from '@causeway/bridge-core';
import type { WebClientOptions } from '@slack/web-api';

type FetchFunction = NonNullable<WebClientOptions['fetch']>;
type FetchResponse = Awaited<ReturnType<FetchFunction>>;

const pools = new HttpPools({ connections: 16 });

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);

export const leanFetch: FetchFunction = async (input, init = {}) => {
  const method = (init.method ?? 'GET').toUpperCase();
  if ((init.body !== undefined && typeof init.body !== 'string') || !METHODS.has(method)) return fetch(input, init);
  const url = new URL(String(input));
  const answer = await pools.for(url.origin).request({
    method: method as 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: url.pathname + url.search,
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const all = answer.headers();
  const response: FetchResponse = {
    ok: answer.status >= 200 && answer.status < 300,
    status: answer.status,
    statusText: '',
    url: url.toString(),
    headers: { get: (name) => answer.header(name) ?? null, entries: () => Object.entries(all) },
    arrayBuffer: async () =>
      answer.body.buffer.slice(answer.body.byteOffset, answer.body.byteOffset + answer.body.byteLength) as ArrayBuffer,
    json: async () => JSON.parse(answer.text()) as unknown,
    text: async () => answer.text(),
  };
  return response;
};
