// Matrix errors as thrown inside the emulator. Handlers throw these; the server
// turns them into `{errcode, error, ...extra}` JSON, exactly the shape Synapse
// returns, so bridges exercise their real error paths (errcode first, status second).

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg);
export const notFound = (msg: string) => new MatrixError(404, 'M_NOT_FOUND', msg);
export const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);
export const invalidParam = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
export const missingParam = (msg: string) => new MatrixError(400, 'M_MISSING_PARAM', msg);
export const unrecognized = (status = 404) =>
  new MatrixError(status, 'M_UNRECOGNIZED', status === 405 ? 'Unrecognized request: method not allowed' : 'Unrecognized request');

export function limitExceeded(retryAfterMs: number): MatrixError {
  // Since spec v1.10 servers send Retry-After (whole seconds, rounded up) as well as
  // the deprecated retry_after_ms body field; bridges should honour either.
  return new MatrixError(
    429,
    'M_LIMIT_EXCEEDED',
    'Too Many Requests',
    { retry_after_ms: retryAfterMs },
    { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  );
}
