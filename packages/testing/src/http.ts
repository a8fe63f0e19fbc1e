import type { JsonObject } from './spec-json';

/** One JSON-over-HTTP call for specs: optional bearer token, JSON or raw body, parsed answer. */
export interface Reply {
  status: number;
  /** The answer when it is a JSON object (Matrix-style APIs answer with one); `{}` otherwise. */
  body: JsonObject;
  /** The answer parsed as JSON whatever its shape (an array, a string), or its text when it is not JSON. */
  json: unknown;
  text: string;
  headers: Headers;
}

export async function httpCall(
  base: string,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | undefined = opts.rawBody;
  if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  const answer = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  return { status: res.status, body: answer, json: parsed, text, headers: res.headers };
}
