/**
 * How every listener the core runs (appservice, provisioning, metrics) answers with JSON, and
 * above all with an error, without corrupting its connection or reading what it refused.
 *
 * - A handler that began its answer (headers sent, or a `writeHead` that threw on a header value
 *   Node refuses) and then failed leaves the response half made: Node keeps the first attempt's
 *   status text and framing, so a second `writeHead` would put `500 OK` with the first answer's
 *   Content-Length on the wire, and the next response on the keep-alive connection would be read
 *   as the rest of this one. Such a connection is destroyed instead: its client sees it cut,
 *   every other connection is untouched.
 * - A request refused before its body was read (no or wrong token, too large, unknown path) is
 *   answered with `Connection: close`, and Node closes the socket once the answer is out. Keeping
 *   the connection alive would mean draining the body to its end: anyone could make the bridge
 *   read 200 MiB per request without a token.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { MatrixError, answerableError } from './matrix-error';

/**
 * Whether this response already began: its headers went out, or a `writeHead` was attempted
 * (it sets the status text before it validates the headers, so a failed one leaves it set).
 */
export function answerStarted(res: ServerResponse): boolean {
  return res.headersSent || res.statusMessage !== undefined;
}

/** Whether the request announced a body that has not been read to its end. */
export function bodyUnread(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Answer with a JSON body (`{}` for undefined). A response that already began is destroyed
 * rather than written twice; a request whose body is still unread gets `Connection: close`.
 * Never throws.
 */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  if (answerStarted(res)) {
    res.destroy();
    return;
  }
  const payload = Buffer.from(JSON.stringify(body === undefined ? {} : body));
  const all: OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': String(payload.length), ...headers };
  if (bodyUnread(req)) all.Connection = 'close';
  try {
    res.writeHead(status, all);
  } catch {
    // A header value Node refuses (one a handler supplied): the response is now half made.
    res.destroy();
    return;
  }
  res.end(payload);
}

/**
 * Answer with a Matrix-style error `{errcode, error, ...extra}`: a status that is not a 4xx/5xx
 * becomes 502 (see answerableError), `retry_after_ms` also becomes a `Retry-After` header, and
 * 413 always closes the connection. Never throws.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, error: MatrixError, headers: OutgoingHttpHeaders = {}): void {
  const err = answerableError(error);
  const all: OutgoingHttpHeaders = { ...headers };
  if (err.status === 413) all.Connection = 'close';
  const retry = err.extra.retry_after_ms;
  if (typeof retry === 'number') all['Retry-After'] = String(Math.max(1, Math.ceil(retry / 1000)));
  sendJson(req, res, err.status, err.toJSON(), all);
}
