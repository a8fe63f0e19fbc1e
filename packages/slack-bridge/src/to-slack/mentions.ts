// Pills in a Matrix message → Slack mentions: a pill of a ghost of this workspace becomes `<@U…>`,
// a pill of a room linked to a channel of this workspace `<#C…>`; anything else stays its label.
// The lookups are asynchronous (the core's ghost store, portals), the renderer synchronous, so
// they are done first for every pill the HTML holds.
import { parseMatrixHtml, type HtmlNode, type MessageContent } from '@causeway/bridge-core';
import type { MatrixToSlackResolvers } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';

/** The users and rooms the pills of a document point at. */
function pillTargets(nodes: readonly HtmlNode[], into: Set<string>): Set<string> {
  for (const n of nodes) {
    if (n.kind === 'link' && (n.permalink?.kind === 'user' || n.permalink?.kind === 'room')) into.add(n.permalink.id);
    if ('children' in n) pillTargets(n.children, into);
  }
  return into;
}

export async function mentionResolvers(ws: WorkspaceContext, content: MessageContent): Promise<MatrixToSlackResolvers> {
  const targets = pillTargets(content.html ? parseMatrixHtml(content.html) : [], new Set<string>(content.mentions ?? []));
  const users = new Map<string, string>();
  const rooms = new Map<string, string>();
  for (const id of targets) {
    if (id.startsWith('@')) {
      const key = await ws.ctx.ghosts.keyFor(id);
      if (key?.network === ws.name) users.set(id, key.id);
    } else if (id.startsWith('!')) {
      const p = await ws.ctx.portals.getByRoom(id);
      if (p?.key.network === ws.name) rooms.set(id, p.key.id);
    } else if (id.startsWith('#')) {
      const localpart = /^#([^:]+):/.exec(id)?.[1];
      const parsed = localpart ? ws.ctx.portals.parseAliasLocalpart(localpart, ws.allNames()) : null;
      if (parsed?.network === ws.name) rooms.set(id, parsed.id);
    }
  }
  return {
    user: (userId) => {
      const slack = users.get(userId);
      return slack ? { slackUserId: slack } : undefined;
    },
    room: (roomIdOrAlias) => {
      const channel = rooms.get(roomIdOrAlias);
      return channel ? { slackChannelId: channel } : undefined;
    },
  };
}
