// Matrix media → Slack with the three-step external upload (files.upload is closed to new apps):
// `files.getUploadURLExternal` (name, length) → POST the bytes to the returned URL →
// `files.completeUploadExternal` sharing it to the channel (and thread). The share's `ts` (the
// message ID) is read from `files.info`, as the completion answer does not carry it yet.
//
// Exactly once: the file ID is stored (ctx.data, by Matrix event and channel) before the upload
// is completed. An upload that may have begun before (a crash, a lost answer, the core replaying
// the Matrix event) first asks `files.info` about that file: a completed file was shared already
// and is not uploaded again; one Slack does not know as completed is uploaded afresh.
import type { WebClient } from '@slack/web-api';
import { RemoteFetchError } from '@causeway/bridge-core';
import type { WorkspaceContext } from '../workspace/workspace-context';
import { isSlackHostedUrl } from '../workspace/slack-hosts';
import type { CallResult, SlackCall } from './slack-call';

type UploadArgs = Extract<SlackCall, { method: 'files.upload-external' }>['args'];

const NAMESPACE = 'upload-files';
/** Long enough for any restart and replay of the Matrix event; the outbox gives up far sooner. */
const KEEP_MS = 7 * 24 * 3600_000;

export interface UploadAttempt {
  /** The Matrix event the upload is for. */
  eventId: string;
  /** An earlier attempt may have begun (and even completed) the upload. */
  again: boolean;
}

export async function uploadToSlack(
  ws: WorkspaceContext,
  client: WebClient,
  args: UploadArgs,
  attempt: UploadAttempt,
): Promise<CallResult> {
  const key = `${ws.name}\u0000${args.channel}\u0000${attempt.eventId}`;
  if (attempt.again) {
    const earlier = await ws.ctx.data.get<{ fileId: string }>(NAMESPACE, key);
    const done = earlier ? await completedShare(ws, client, earlier.fileId, args.channel) : undefined;
    if (done) {
      ws.ctx.log.info('Slack upload completed before; not uploaded again', { eventId: attempt.eventId, fileId: earlier?.fileId });
      return done;
    }
  }
  const { data } = await ws.ctx.media.download(args.mxc);
  const step1 = await client.apiCall('files.getUploadURLExternal', { filename: args.name, length: data.length });
  const { upload_url: uploadUrl, file_id: fileId } = step1 as { upload_url?: string; file_id?: string };
  if (!uploadUrl || !fileId) throw new Error('files.getUploadURLExternal answered without upload_url or file_id');
  const form = new FormData();
  form.append('file', new Blob([data], { type: args.mimetype ?? 'application/octet-stream' }), args.name);
  // The standard multipart encoding (boundary and all) of the form, as bytes the guarded fetch can send.
  const encoded = new Response(form);
  const body = Buffer.from(await encoded.arrayBuffer());
  // The URL is Slack's answer, but it receives a Matrix user's file: only Slack's own hosts, behind the address guard.
  const res = await ws.ctx.media
    .fetchRemote(uploadUrl, {
      method: 'POST',
      headers: { 'content-type': encoded.headers.get('content-type') ?? 'multipart/form-data' },
      body,
      maxRedirects: 0,
      maxBytes: 64 * 1024,
      timeoutMs: 120_000,
      allowUrl: (u) => isSlackHostedUrl(u, ws.cfg.api_url),
    })
    .catch((err: unknown) => {
      // A lost connection or a timeout is worth a retry, as any failed Web API request is (send-errors.ts);
      // a refused URL is not.
      if (err instanceof RemoteFetchError && (err.reason === 'network' || err.reason === 'timeout')) {
        throw Object.assign(new Error(`file upload failed: ${err.message}`), { code: 'slack_webapi_request_error' });
      }
      throw err;
    });
  if (res.status !== 200)
    throw Object.assign(new Error(`file upload answered HTTP ${res.status}`), { code: 'slack_webapi_http_error', statusCode: res.status });
  await ws.ctx.data.put(NAMESPACE, key, { fileId }, { expiresAt: Date.now() + KEEP_MS });
  await client.apiCall('files.completeUploadExternal', {
    files: JSON.stringify([{ id: fileId, title: args.name }]),
    channel_id: args.channel,
    ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}),
    ...(args.comment ? { initial_comment: args.comment } : {}),
  });
  return shareOf(ws, client, fileId, args.channel);
}

/** The share of a file the bridge completed earlier; undefined when Slack has no completed file of that ID. */
async function completedShare(ws: WorkspaceContext, client: WebClient, fileId: string, channel: string): Promise<CallResult | undefined> {
  try {
    return await shareOf(ws, client, fileId, channel);
  } catch (err) {
    // Never completed (or since deleted): Slack answers as for an unknown file.
    if ((err as { data?: { error?: unknown } }).data?.error === 'file_not_found') return undefined;
    throw err;
  }
}

/** Where a completed file was shared in the channel (`files.info` lists its shares). */
async function shareOf(ws: WorkspaceContext, client: WebClient, fileId: string, channel: string): Promise<CallResult> {
  const info = await client.apiCall('files.info', { file: fileId });
  const shares =
    ((info as { file?: unknown }).file as { shares?: Record<string, Record<string, Array<{ ts?: string }>>> } | undefined)?.shares ?? {};
  for (const byChannel of Object.values(shares)) {
    const ts = byChannel[channel]?.[0]?.ts;
    if (ts) {
      ws.echoes.recordPosted(channel, ts);
      return { ts };
    }
  }
  // Completed, but the share is not listed (yet): it was asked for, so it is not made again.
  return {};
}
