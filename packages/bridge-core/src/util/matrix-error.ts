/**
 * A Matrix-style error: an HTTP status plus `{errcode, error}`. Used both for
 * answers the bridge gives (appservice and provisioning APIs) and for errors the
 * homeserver returns to the bridge's client.
 */
export class MatrixError extends Error {
  constructor(
    public readonly status: number,
    public readonly errcode: string,
    message: string,
    /** Extra body fields, e.g. `retry_after_ms`. */
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

/**
 * The error to answer a request with. A MatrixError can come from the bridge's own client (the
 * homeserver unreachable is status 0), and passing its status through would be an invalid HTTP
 * status: `writeHead` throws inside a request handler and the process goes down. Anything that
 * is not a 4xx/5xx becomes 502: something upstream failed, not the caller's request.
 */
export function answerableError(err: MatrixError): MatrixError {
  if (Number.isInteger(err.status) && err.status >= 400 && err.status <= 599) return err;
  return new MatrixError(502, 'M_UNKNOWN', 'The homeserver could not be reached; try again later.');
}
