// Failures of Gitter calls, typed by what the caller should do about them. The status carries
// the meaning on Gitter (401 token, 403 permission, 404 unknown room or message, 400 bad body,
// and a 400 on an edit past the edit window, which the connector answers by posting the
// correction as a new message). Messages name the method and path, never the token.

export type GitterErrorKind =
  | 'unauthorized' // 401: the token is missing, wrong or revoked
  | 'forbidden' // 403 other than the rate limit: no permission (not in the room, not the author)
  | 'not_found' // 404: unknown room or message (or a route the server does not have)
  | 'bad_request' // 400: the request itself is wrong (empty or too long text, bad id)
  | 'edit_window' // 400 on an edit: the message is too old to edit
  | 'server' // 5xx
  | 'unexpected'; // any other status, or a body that is not the JSON expected

export class GitterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class GitterHttpError extends GitterError {
  constructor(
    readonly kind: GitterErrorKind,
    readonly status: number,
    /** The server's `error` text, if any. */
    readonly serverMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`Gitter ${method} ${path}: ${status}${serverMessage ? ` ${serverMessage}` : ''}`);
  }

  /** Worth trying again later (the server failed, not the request). */
  get retryable(): boolean {
    return this.kind === 'server';
  }
}

/** An edit refused because the edit window has passed. */
export class GitterEditWindowError extends GitterHttpError {}

/**
 * The request did not get an answer (connection refused or dropped, timeout). For a POST the
 * message may or may not have been created: `maybeProcessed` says whether the request was
 * possibly received.
 */
export class GitterNetworkError extends GitterError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly maybeProcessed: boolean,
    cause?: unknown,
  ) {
    super(`Gitter ${method} ${path}: no answer (${describe(cause)})`, { cause });
  }
}

/** The caller aborted while the request was waiting or in flight. */
export class GitterAbortedError extends GitterError {}

export function classifyStatus(status: number): GitterErrorKind {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server';
  return 'unexpected';
}

/** A 403 or 429 that is Gitter's rate limiter speaking, not a permission problem. */
export function isRateLimitAnswer(status: number, serverMessage: string): boolean {
  return status === 429 || (status === 403 && /rate.?limit/i.test(serverMessage));
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code ?? (cause.cause as { code?: string } | undefined)?.code;
    return code ? `${cause.message} ${code}` : cause.message;
  }
  return String(cause);
}
