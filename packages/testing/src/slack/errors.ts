// Logical Web API failures: thrown by handlers and actions, answered as HTTP 200
// `{"ok":false,"error":code,...extra}` the way Slack answers them.

export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
    this.name = 'SlackApiError';
  }
}
