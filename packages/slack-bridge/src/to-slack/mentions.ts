// Pills in a Matrix message → Slack mentions: a pill of a ghost of this workspace becomes `<@U…>`,
// a pill of a room linked to a channel of this workspace `<#C…>`; anything else stays its label.
// The lookups are asynchronous (the core's ghost store, portals), the renderer synchronous, so
// they are done first for every pill the HTML holds.
import type { MessageContent } from '@causeway/bridge-core';
import { pillTarget, type MatrixToSlackResolvers } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';

const HREF_RE = /href\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;

function decodeAttr(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

export async function mentionResolvers(ws: WorkspaceContext, content: MessageContent): Promise<MatrixToSlackResolvers> {
  const targets = new Set<string>(content.mentions ?? []);
  for (const m of (content.html ?? '').matchAll(HREF_RE)) {
    const id = pillTarget(decodeAttr(m[1] ?? m[2] ?? ''));
    if (id) targets.add(id);
  }
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
