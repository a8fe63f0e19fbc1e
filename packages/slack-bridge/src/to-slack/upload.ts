// Matrix media → Slack with the three-step external upload (files.upload is closed to new apps):
// `files.getUploadURLExternal` (name, length) → POST the bytes to the returned URL →
// `files.completeUploadExternal` sharing it to the channel (and thread). The share's `ts` (the
// message ID) is read from `files.info`, as the completion answer does not carry it yet.
import type { WebClient } from '@slack/web-api';
import type { WorkspaceContext } from '../workspace/workspace-context';
import type { CallResult, SlackCall } from './slack-call';

type UploadArgs = Extract<SlackCall, { method: 'files.upload-external' }>['args'];

export async function uploadToSlack(ws: WorkspaceContext, client: WebClient, args: UploadArgs): Promise<CallResult> {
  const { data } = await ws.ctx.media.download(args.mxc);
  const step1 = await client.apiCall('files.getUploadURLExternal', { filename: args.name, length: data.length });
  const { upload_url: uploadUrl, file_id: fileId } = step1 as { upload_url?: string; file_id?: string };
  if (!uploadUrl || !fileId) throw new Error('files.getUploadURLExternal answered without upload_url or file_id');
  const form = new FormData();
  form.append('file', new Blob([data], { type: args.mimetype ?? 'application/octet-stream' }), args.name);
  const res = await fetch(uploadUrl, { method: 'POST', body: form, signal: AbortSignal.timeout(120_000) });
  if (res.status !== 200)
    throw Object.assign(new Error(`file upload answered HTTP ${res.status}`), { code: 'slack_webapi_http_error', statusCode: res.status });
  await client.apiCall('files.completeUploadExternal', {
    files: JSON.stringify([{ id: fileId, title: args.name }]),
    channel_id: args.channel,
    ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}),
    ...(args.comment ? { initial_comment: args.comment } : {}),
  });
  const info = await client.apiCall('files.info', { file: fileId });
  const shares =
    ((info as { file?: unknown }).file as { shares?: Record<string, Record<string, Array<{ ts?: string }>>> } | undefined)?.shares ?? {};
  for (const byChannel of Object.values(shares)) {
    const ts = byChannel[args.channel]?.[0]?.ts;
    if (ts) {
      ws.echoes.recordPosted(args.channel, ts);
      return { ts };
    }
  }
  return {};
}
