// Emotes (`status: true`). The Gitter client turns "/me waves" into "@alice waves", so the
// author's own `@username` leads the text; Matrix shows `m.emote` with the sender's name
// already, so that prefix is dropped on the way in and added on the way out.

/** The action of an emote: the text without its leading `@username` (any case). */
export function stripEmotePrefix(text: string, username: string): string {
  const prefix = `@${username}`;
  if (text.length < prefix.length || text.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return text;
  const rest = text.slice(prefix.length);
  if (rest !== '' && !/^\s/.test(rest)) return text; // "@alicex" is someone else
  const action = rest.replace(/^\s+/, '');
  return action === '' ? text : action;
}

/** The text the Gitter client would post for "/me <action>" by `username`. */
export function emoteText(username: string, action: string): string {
  return `@${username} ${action}`;
}
