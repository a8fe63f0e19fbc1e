// files.getUploadURLExternal, files.completeUploadExternal, files.info, files.delete, and
// files.upload, retired for every app (`method_deprecated`).
import { SlackApiError } from '../errors';
import type { Conversation } from '../model';
import type { MethodHandler } from '../web-api';
import { fileJson } from '../wire';
import { conversationArg, resolveConversation } from './common';

export const fileMethods: Record<string, MethodHandler> = {
  'files.upload': () => {
    throw new SlackApiError('method_deprecated');
  },

  'files.getUploadURLExternal': (ctx) => {
    const length = Number(ctx.args.str('length'));
    const file = ctx.services.files.start(ctx.actor(), {
      filename: ctx.args.str('filename') ?? '',
      length,
      altText: ctx.args.str('alt_txt') ?? ctx.args.str('alt_text'),
      snippetType: ctx.args.str('snippet_type'),
    });
    return { upload_url: ctx.services.files.uploadUrl(file), file_id: file.id };
  },

  'files.completeUploadExternal': (ctx) => {
    const items = ctx.args.json<unknown>('files', 'invalid_arguments');
    if (!Array.isArray(items) || items.some((i) => typeof i !== 'object' || i === null || typeof (i as { id?: unknown }).id !== 'string')) {
      throw new SlackApiError('invalid_arguments');
    }
    const channels: Conversation[] = [];
    if (ctx.args.has('channel_id')) channels.push(conversationArg(ctx, { name: 'channel_id' }));
    for (const id of ctx.args.list('channels')) channels.push(resolveConversation(ctx, id));
    const blocks = ctx.args.json<unknown[]>('blocks', 'invalid_blocks_format');
    const files = ctx.services.files.complete(ctx.actor(), items as { id: string; title?: string }[], {
      channels,
      threadTs: ctx.args.str('thread_ts') || undefined,
      initialComment: ctx.args.str('initial_comment') || undefined,
      blocks,
    });
    // The share happens after this answer on Slack too: the files carry no `shares` yet.
    return { files: files.map((f) => ({ ...fileJson(ctx.services.state, f), shares: {}, channels: [], groups: [], ims: [] })) };
  },

  'files.info': (ctx) => {
    const id = ctx.args.str('file') ?? '';
    const { state, files } = ctx.services;
    const file = state.files.get(id);
    if (!file || file.deleted || file.teamId !== ctx.token.teamId || !file.completed || !files.visibleTo(file, ctx.token.userId!)) {
      throw new SlackApiError('file_not_found');
    }
    return { file: fileJson(state, file), comments: [], response_metadata: { next_cursor: '' } };
  },

  'files.delete': (ctx) => {
    ctx.services.files.remove(ctx.actor(), ctx.args.str('file') ?? '');
    return {};
  },
};
