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
