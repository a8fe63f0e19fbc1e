/**
 * Matrix → Gitter: the text a Matrix message becomes. HTML (or the escaped plain body) is turned
 * into Gitter Markdown; pills of Gitter ghosts and of puppeted users become `@username`, `@room`
 * (or `m.mentions.room`) becomes `@/all`; media becomes a link through the core's media URL.
 * Sent through the relay, the text starts with the sender's name so Gitter users see who wrote
 * it; sent from the user's own account it does not. Emotes are `status: true` posts.
 */
import type { MessageContent } from '@causeway/bridge-core';
import { escapeMarkdownText } from './gitter';
import { matrixToGitterMarkdown } from './html-to-markdown';

export interface OutboundOptions {
  /** The sender's display name, when sending through the relay with a name prefix. */
  relayName?: string;
  /** The Gitter username sending (own account), for the emote prefix the Gitter client writes. */
  ownUsername?: string;
  /** A Matrix user ID → the Gitter username it stands for (ghost or puppet), if any. */
  usernameOf(userId: string): string | undefined;
  /** A URL Gitter users can follow for Matrix media (the core's media proxy or download URL). */
  mediaUrl(mxc: string, name: string): string | undefined;
}

export interface GitterText {
  text: string;
  status: boolean;
}

export function gitterText(content: MessageContent, opts: OutboundOptions): GitterText {
  const status = content.kind === 'emote';
  let md: string;
  if (content.media) {
    const { media } = content;
    const url = media.url ?? (media.mxc ? opts.mediaUrl(media.mxc, media.name) : undefined);
    const link = url ? `[${escapeMarkdownText(media.name || 'file')}](${url})` : escapeMarkdownText(media.name);
    const caption = content.body && content.body !== media.name ? ` ${escapeMarkdownText(content.body)}` : '';
    md = `${link}${caption}`;
  } else {
    md = matrixToGitterMarkdown(
      { body: content.body, ...(content.html ? { format: 'org.matrix.custom.html', formatted_body: content.html } : {}) },
      { resolveMention: (userId) => opts.usernameOf(userId), roomMention: content.mentionsRoom === true },
    );
    if (content.mentionsRoom && !/(^|\s)@\/all\b/.test(md)) md = `@/all ${md}`;
  }
  if (opts.relayName !== undefined) {
    const name = escapeMarkdownText(opts.relayName);
    return { status, text: status ? `**${name}** ${md}` : `**${name}**: ${md}` };
  }
  return { status, text: status && opts.ownUsername ? `@${opts.ownUsername} ${md}` : md };
}
