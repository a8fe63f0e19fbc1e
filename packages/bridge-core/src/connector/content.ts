/**
 * Message content as it crosses the core/connector boundary: protocol-neutral,
 * already split into plain text and (sanitised) HTML. Connectors convert from and
 * to their own markup; the core converts to and from Matrix event content.
 */

export type MessageKind = 'text' | 'notice' | 'emote' | 'image' | 'file' | 'video' | 'audio';

export interface MediaInfo {
  /** mxc:// URI on the Matrix side. */
  mxc?: string;
  /** A URL the remote side can fetch (the core's media link for Matrix media). */
  url?: string;
  name: string;
  mimetype?: string;
  size?: number;
  width?: number;
  height?: number;
}

export interface MessageContent {
  kind: MessageKind;
  /** Plain text. For media: the caption or file name. */
  body: string;
  /** Matrix-compatible HTML; only set when it differs from the plain body. Towards Matrix the core passes it through its allow-list (messages/matrix-html.ts). */
  html?: string;
  media?: MediaInfo;
  /** Matrix user IDs mentioned (Matrix→remote) or to mention (remote→Matrix). */
  mentions?: string[];
  /**
   * The whole room is mentioned: Matrix→remote, the sender's `m.mentions.room` (a ping of the
   * channel, e.g. Slack's `<!channel>`, Gitter's `@/all`); remote→Matrix, an `@room` notification.
   */
  mentionsRoom?: boolean;
  /** A link back to the message on the remote network. */
  externalUrl?: string;
}
