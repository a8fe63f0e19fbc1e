// Files the modern way: getUploadURLExternal reserves an ID and an upload URL, the bytes are
// POSTed there, completeUploadExternal shares them (one `file_share` message per channel, plus
// `file_shared`). Slack creates the share asynchronously, so the completion answer carries no
// `shares`; files.info has them afterwards. Downloads need a Bearer token that may see the file.
import type { Actor } from './actor';
import type { EventDispatcher } from './dispatcher';
import { SlackApiError } from './errors';
import { fileTypeOf, imageSize } from './file-types';
import { randomHex } from './ids';
import type { MessageActions } from './message-actions';
import type { Conversation, SlackFile } from './model';
import type { SlackState } from './state';
import type { TokenRecord } from './tokens';

export interface UploadStart {
  filename: string;
  length: number;
  altText?: string;
  snippetType?: string;
}

export interface ShareTarget {
  channels: Conversation[];
  threadTs?: string;
  /** Typed comment (clients) or mrkdwn (API). */
  initialComment?: string;
  blocks?: unknown[];
}

export class FileActions {
  constructor(
    private state: SlackState,
    private events: EventDispatcher,
    private messages: MessageActions,
  ) {}

  start(actor: Actor, p: UploadStart): SlackFile {
    if (!p.filename) throw new SlackApiError('invalid_arguments');
    if (!Number.isInteger(p.length) || p.length <= 0) throw new SlackApiError('invalid_arguments');
    const type = fileTypeOf(p.filename, p.snippetType);
    const file: SlackFile = {
      id: this.state.ids.next('F'),
      teamId: actor.teamId,
      user: actor.userId,
      name: p.filename,
      title: p.filename,
      mimetype: type.mimetype,
      filetype: type.filetype,
      prettyType: type.pretty,
      altText: p.altText,
      snippetType: p.snippetType,
      declaredLength: p.length,
      created: this.state.now(),
      uploaded: false,
      completed: false,
      deleted: false,
      uploadId: randomHex(16),
      shares: new Map(),
      appId: actor.appId,
    };
    this.state.files.set(file.id, file);
    return file;
  }

  uploadUrl(file: SlackFile): string {
    return `${this.state.baseUrl}/upload/v1/${file.uploadId}`;
  }

  /** Bytes POSTed to an upload URL; undefined when the URL is unknown or already completed. */
  receive(uploadId: string, data: Buffer): SlackFile | undefined {
    const file = [...this.state.files.values()].find((f) => f.uploadId === uploadId);
    if (!file || file.completed || file.deleted) return undefined;
    file.data = data;
    file.uploaded = true;
    file.imageSize = file.mimetype.startsWith('image/') ? imageSize(data) : undefined;
    return file;
  }

  complete(actor: Actor, items: { id: string; title?: string }[], target: ShareTarget): SlackFile[] {
    if (items.length === 0) throw new SlackApiError('invalid_arguments');
    const files = items.map((item) => {
      const f = this.state.files.get(item.id);
      if (!f || f.deleted || f.teamId !== actor.teamId || f.user !== actor.userId || !f.uploaded || f.completed) {
        throw new SlackApiError('file_not_found');
      }
      return f;
    });
    if (target.threadTs && target.channels.length > 1) throw new SlackApiError('invalid_arguments');
    for (const conv of target.channels) this.messages.checkCanPost(actor, conv);
    files.forEach((f, i) => {
      if (items[i].title) f.title = items[i].title!;
      f.completed = true;
    });
    for (const conv of target.channels) {
      const comment = target.initialComment;
      const msg = this.messages.post(actor, conv, {
        subtype: 'file_share',
        text: comment ?? '',
        blocks: comment ? undefined : target.blocks,
        files: files.map((f) => f.id),
        threadTs: target.threadTs,
        extra: { upload: true, display_as_bot: false },
      });
      for (const f of files) {
        f.shares.set(conv.id, [...(f.shares.get(conv.id) ?? []), msg.ts]);
        this.events.emit(
          conv.teamId,
          {
            type: 'file_shared',
            file_id: f.id,
            user_id: actor.userId,
            file: { id: f.id },
            channel_id: conv.id,
            event_ts: this.state.clock.next('events'),
          },
          { conversation: conv },
        );
      }
    }
    return files;
  }

  /** Can this token see the file (its uploader, or a member of a conversation it is shared in, or any member for public channels)? */
  visibleTo(file: SlackFile, userId: string): boolean {
    if (file.user === userId) return true;
    for (const channel of file.shares.keys()) {
      const conv = this.state.conversations.get(channel);
      if (conv && (conv.members.has(userId) || conv.kind === 'channel')) return true;
    }
    return false;
  }

  /** The bytes a GET of url_private serves to `token`, undefined when Slack would not serve them. */
  download(token: TokenRecord | undefined, teamId: string, fileId: string): SlackFile | undefined {
    if (!token || token.revoked || token.kind === 'app' || token.teamId !== teamId || !token.userId) return undefined;
    if (!token.scopes.has('files:read')) return undefined;
    const file = this.state.files.get(fileId);
    if (!file || file.deleted || !file.completed || file.teamId !== teamId || !file.data) return undefined;
    return this.visibleTo(file, token.userId) ? file : undefined;
  }

  remove(actor: Actor, fileId: string): void {
    const file = this.state.file(fileId);
    if (file.teamId !== actor.teamId) throw new SlackApiError('file_not_found');
    if (file.user !== actor.userId) throw new SlackApiError('cant_delete_file');
    file.deleted = true;
    this.events.emit(actor.teamId, { type: 'file_deleted', file_id: file.id, event_ts: this.state.clock.next('events') });
  }
}
