// Slack files → Matrix media: `url_private` is fetched with the bot token as a Bearer (Slack serves
// nothing without it; a sign-in redirect means the token cannot read the file) and uploaded to the
// homeserver. A file that cannot be fetched becomes a notice with its name, never a silent drop.
// The token goes only to Slack's own hosts (slack-hosts.ts): a file shared from another service
// can name that service in `url_private`; such a file becomes the notice too.
import type { MessageContent } from '@causeway/bridge-core';
import type { SlackFile } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';
import { isSlackHostedUrl } from '../workspace/slack-hosts';

const MAX_FILE_BYTES = 100 * 1024 * 1024;

/** The Matrix message kind of a file of this type. */
export function mediaKindOf(mimetype: string | undefined): MessageContent['kind'] {
  if (mimetype?.startsWith('image/')) return 'image';
  if (mimetype?.startsWith('video/')) return 'video';
  if (mimetype?.startsWith('audio/')) return 'audio';
  return 'file';
}

export async function slackFileToContent(ws: WorkspaceContext, file: SlackFile): Promise<MessageContent> {
  const name = file.name ?? file.title ?? file.id;
  const url = file.urlPrivateDownload ?? file.urlPrivate;
  if (!file.available || !url) return { kind: 'notice', body: `(a file Slack does not let the bridge read: ${name})` };
  try {
    const res = await ws.ctx.media.fetchRemote(url, {
      headers: { authorization: `Bearer ${ws.cfg.bot_token}` },
      // A redirect is Slack's sign-in page: the token cannot read the file.
      maxRedirects: 0,
      maxBytes: MAX_FILE_BYTES,
      timeoutMs: 60_000,
      allowUrl: (u) => isSlackHostedUrl(u, ws.cfg.api_url),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const data = res.data;
    const mimetype = file.mimetype ?? res.mimetype ?? 'application/octet-stream';
    const mxc = await ws.ctx.media.upload(data, { name, mimetype });
    return {
      kind: mediaKindOf(mimetype),
      body: file.title && file.title !== name ? file.title : name,
      media: {
        mxc,
        name,
        mimetype,
        size: data.length,
        ...(file.width ? { width: file.width } : {}),
        ...(file.height ? { height: file.height } : {}),
      },
    };
  } catch (err) {
    ws.ctx.log.warn('Slack file could not be fetched', { file: file.id, err: String(err) });
    return { kind: 'notice', body: `(a file could not be copied from Slack: ${name})` };
  }
}
