/**
 * Reactions have no remote message ID on most networks, yet the message map
 * must find them again to bridge their removal. Both directions record them
 * under a synthetic remote ID built here. The separator is U+001F (unit
 * separator): it cannot occur in user-visible IDs and, unlike NUL, PostgreSQL
 * text columns accept it.
 */
const SEP = '\u001f';
const PREFIX = `reaction${SEP}`;

export function reactionRemoteId(targetRemoteId: string, reactor: string, key: string): string {
  return `${PREFIX}${targetRemoteId}${SEP}${reactor}${SEP}${key}`;
}

export function parseReactionRemoteId(remoteId: string): { targetRemoteId: string; reactor: string; key: string } | null {
  if (!remoteId.startsWith(PREFIX)) return null;
  const parts = remoteId.slice(PREFIX.length).split(SEP);
  if (parts.length < 3) return null;
  // The key is last and may itself be anything; the reactor never contains SEP.
  const key = parts.slice(2).join(SEP);
  return { targetRemoteId: parts[0], reactor: parts[1], key };
}
