/**
 * Bounded request-body reading. Refuses early on a Content-Length over the
 * limit and stops buffering as soon as a chunked body passes it; what is left
 * of the request is drained without being kept. A client that asked
 * `Expect: 100-continue` is told to send its body only when a handler reads it.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { MatrixError } from '../util/matrix-error';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

function tooLarge(limit: number): MatrixError {
  return new MatrixError(413, 'M_TOO_LARGE', `Request body exceeds ${limit} bytes`);
}

function aborted(): MatrixError {
  return new MatrixError(400, 'M_UNKNOWN', 'The request ended before its body was complete');
}

/** Requests whose client waits for `100 Continue` before it sends the body. */
const awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * Serve `Expect: 100-continue` requests with `listener` like any other, except that
 * `100 Continue` goes out when a handler starts reading the body (readBody), not at once as
 * Node does by default: a request refused on its headers (no token, a bad one, an unknown
 * route, a declared size over the limit) never has its body sent at all.
 */
export function continueWhenRead(server: Server, listener: RequestListener): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.set(req, res);
    listener(req, res);
  });
}

/** Read the whole body into one Buffer, or reject with 413 `M_TOO_LARGE` (400 when the client aborts). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (n > limit) {
      discard(req);
      return Promise.reject(tooLarge(limit));
    }
  }
  const waiting = awaitingContinue.get(req);
  if (waiting) {
    awaitingContinue.delete(req);
    if (!waiting.headersSent) waiting.writeContinue();
  }
  return new Promise<Buffer>((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        first = undefined;
        chunks = undefined;
        discard(req);
        reject(tooLarge(limit));
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (chunks) resolve(Buffer.concat(chunks, total));
      else resolve(first ?? Buffer.alloc(0));
    };
    // The client went away or sent a broken body: its problem, answered (if anyone listens) as such.
    const onError = () => {
      cleanup();
      reject(aborted());
    };
    const onAborted = () => {
      cleanup();
      reject(aborted());
    };
    const cleanup = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** Let the rest of a request flow past without keeping it. */
function discard(req: IncomingMessage): void {
  if (!req.complete) req.resume();
}

export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw new MatrixError(400, 'M_NOT_JSON', 'Empty body');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Body is not valid JSON');
  }
}
