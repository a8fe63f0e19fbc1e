/**
 * Gitter → Matrix: a Gitter message (or a newer version of one) as the contract's remote events.
 * The Markdown text is rendered by the bridge (markdown-to-html.ts) rather than taken from
 * the server's `html`, and the core passes the HTML through its allow-list. `@username` becomes a
 * pill to the user's ghost (or to the Matrix user who puppets that account), `@/all` an `@room`
 * notification; emotes lose the author's `@username` prefix; a thread reply keeps its root.
 */
import type { GhostKey, GhostService, MessageContent, PortalKey, RemoteEvent } from '@causeway/bridge-core';
import { messageVersion, stripEmotePrefix, type GitterMessage } from './gitter';
import { gitterMarkdownToHtml } from './markdown-to-html';
import { GITTER_NETWORK } from './protocol';

export interface InboundDeps {
  ghosts: Pick<GhostService, 'userIdFor'>;
  /** The Matrix user who puppets a Gitter username, if any. */
  puppetOf(username: string): string | undefined;
}

export function ghostKey(username: string): GhostKey {
  return { network: GITTER_NETWORK, id: username };
}

/** The Matrix user a Gitter username stands for. */
function matrixUserFor(deps: InboundDeps, username: string): string {
  return deps.puppetOf(username) ?? deps.ghosts.userIdFor(ghostKey(username));
}

function gitterContent(msg: GitterMessage, deps: InboundDeps): MessageContent {
  const emote = msg.status === true;
  const text = emote ? stripEmotePrefix(msg.text, msg.fromUser.username) : msg.text;
  const rendered = gitterMarkdownToHtml(text, {
    mention: (username) => {
      const userId = matrixUserFor(deps, username);
      return { href: `https://matrix.to/#/${encodeURIComponent(userId)}`, text: `@${username}` };
    },
    allMention: () => '@room',
  });
  const content: MessageContent = { kind: emote ? 'emote' : 'text', body: text };
  if (rendered.formatted) content.html = rendered.html;
  if (rendered.mentions.length) content.mentions = rendered.mentions.map((u) => matrixUserFor(deps, u));
  if (rendered.mentionsAll) content.mentionsRoom = true;
  return content;
}

/**
 * The remote event for a message: a new message, or an edit when a version after the first
 * arrives for a message that was bridged (`isNew` false).
 */
export function gitterEvent(msg: GitterMessage, portal: PortalKey, isNew: boolean, deps: InboundDeps): RemoteEvent {
  const sender = {
    ghost: ghostKey(msg.fromUser.username),
    displayName: msg.fromUser.displayName || msg.fromUser.username,
    ...(msg.fromUser.avatarUrl ? { avatarUrl: msg.fromUser.avatarUrl } : {}),
  };
  const content = gitterContent(msg, deps);
  const sent = Date.parse(msg.sent);
  if (!isNew) {
    const edited = msg.editedAt ? Date.parse(msg.editedAt) : NaN;
    return {
      type: 'edit',
      portal,
      sender,
      targetId: msg.id,
      id: `${msg.id}.v${messageVersion(msg)}`,
      content,
      ...(Number.isFinite(edited) ? { timestamp: edited } : {}),
    };
  }
  return {
    type: 'message',
    portal,
    sender,
    id: msg.id,
    content,
    ...(msg.parentId ? { threadRoot: msg.parentId } : {}),
    ...(Number.isFinite(sent) ? { timestamp: sent } : {}),
  };
}
