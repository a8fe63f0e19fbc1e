// Gitter's error answers: JSON `{"error": "<text>"}` with the HTTP status carrying the meaning
// (400 bad body, 401 bad or missing token, 403 no permission or rate limit, 404 unknown room or
// message). Model code throws these; the HTTP front turns them into answers.

export class GitterApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {
    super(`${status} ${error}`);
    this.name = 'GitterApiError';
  }
}

export const badRequest = (error: string) => new GitterApiError(400, error);
export const unauthorized = () => new GitterApiError(401, 'Unauthorized');
export const forbidden = (error = 'Forbidden') => new GitterApiError(403, error);
export const notFound = (error = 'Not Found') => new GitterApiError(404, error);

/** The exact text the webapp's rate limiter answered with; clients match on it. */
export const RATE_LIMIT_ERROR = 'rate limit exceeded';
/** What the server says when an edit comes after the edit window. */
export const EDIT_WINDOW_ERROR = 'You can no longer edit this message';
