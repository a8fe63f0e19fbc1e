// A Slack message's text → the core's MessageContent: rich_text blocks (or mrkdwn) rendered to
// sanitised Matrix HTML, with Slack user mentions as pills of their ghosts, channel mentions as
// links to the bridged room, `<!channel>`/`<!here>`/`<!everyone>` as an `@room` ping, and custom
// emoji as inline images uploaded to the homeserver once.
import type { MessageContent } from '@causeway/bridge-core';
import { parseSlackMessage, renderMatrix, slackReferences, walkInlines, type MatrixMentionTarget } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';

export async function slackTextToContent(
  ws: WorkspaceContext,
  msg: { text: string; blocks?: unknown[] },
  kind: MessageContent['kind'],
): Promise<MessageContent> {
  const { doc } = parseSlackMessage(msg);
  const refs = slackReferences(doc);
  const users = new Map<string, MatrixMentionTarget>();
  for (const id of refs.users) {
    if (ws.echoes.isSelfUser(id)) continue;
    const p = await ws.users.get(id);
    users.set(id, { matrixId: ws.ctx.ghosts.userIdFor(ws.ghostKey(id)), text: p.displayName });
  }
  const channels = new Map<string, MatrixMentionTarget>();
  for (const id of refs.channels) {
    const [portal] = await ws.ctx.portals.getByKey(ws.portalKey(id));
    if (portal) channels.set(id, { matrixId: portal.roomId, text: `#${id}` });
  }
  const customNames = new Set<string>();
  walkInlines(doc, (n) => {
    if (n.t === 'emoji') customNames.add(n.name);
  });
  const custom = new Map<string, { mxc: string } | { unicode: string }>();
  for (const name of customNames) {
    const found = await ws.emoji.resolve(name);
    if (found) custom.set(name, found);
  }
  const out = renderMatrix(doc, {
    user: (id) => users.get(id),
    channel: (id, label) => {
      const c = channels.get(id);
      return c ? { ...c, text: `#${label ?? id}` } : undefined;
    },
    customEmoji: (name) => custom.get(name),
  });
  return {
    kind,
    body: out.body,
    ...(out.html ? { html: out.html } : {}),
    ...(out.mentions.userIds.length ? { mentions: out.mentions.userIds } : {}),
    ...(out.mentions.room ? { mentionsRoom: true } : {}),
  };
}

/**
 * A channel topic or purpose as Slack gives it (mrkdwn-escaped text: `&amp;`, `<https://…|label>`,
 * `<@U…>`) → the plain text a Matrix `m.room.topic` holds, as a Slack reader sees it.
 */
export async function slackTopicToMatrix(ws: WorkspaceContext, raw: string): Promise<string> {
  if (raw === '') return '';
  return (await slackTextToContent(ws, { text: raw }, 'text')).body;
}
