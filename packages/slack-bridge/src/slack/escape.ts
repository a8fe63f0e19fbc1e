// Escaping for the two markups this layer writes: Slack mrkdwn (where only `&`, `<` and `>` are
// special to Slack's tokenizer, and an unescaped `<` can open a mention or broadcast) and Matrix
// HTML. Every piece of user text passes through one of these before it reaches either network.

/** Escapes text for a Slack message `text` field, so it can never form a `<...>` control token. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Reverses Slack's escaping of message text. Only the three entities Slack produces are decoded,
 * in one pass, so `&amp;lt;` stays the literal text `&lt;`.
 */
export function unescapeMrkdwn(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, e: string) => (e === 'amp' ? '&' : e === 'lt' ? '<' : '>'));
}

/** Escapes text for HTML element content or a double-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
