import { strict as assert } from 'node:assert';
import type { WebAPIPlatformError } from '@slack/web-api';
import { startWorkspace, webClient, type Workspace } from './helpers';

/** A 3×2 PNG header (enough for the size to be read). */
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
  Buffer.from('IHDR'),
  Buffer.from([0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0]),
  Buffer.alloc(20, 7),
]);

describe('slack emulator: files', () => {
  let w: Workspace;
  beforeEach(async () => {
    w = await startWorkspace();
  });
  afterEach(async () => {
    assert.deepEqual(w.slack.web.internalErrors, []);
    await w.slack.stop();
  });

  it("the SDK's three-step upload shares the file: getUploadURLExternal, bytes to the URL, completeUploadExternal", async () => {
    const result = await w.bot.filesUploadV2({
      channel_id: w.general.id,
      file: PNG,
      filename: 'cat.png',
      title: 'A cat',
      initial_comment: 'look',
    });
    assert.deepEqual(
      w.slack
        .calls()
        .map((c) => c.method)
        .filter((m) => m.startsWith('files.')),
      ['files.getUploadURLExternal', 'files.completeUploadExternal'],
    );
    const [share] = w.slack.messages(w.general);
    assert.equal(share.subtype, 'file_share');
    assert.equal(share.text, 'look');
    assert.equal(share.botId, w.inst.botId);
    const fileId = share.files![0];
    const completed = (result as unknown as { files: { files: { id: string }[] }[] }).files[0].files[0];
    assert.equal(completed.id, fileId);
    const info = await w.bot.files.info({ file: fileId });
    const f = info.file!;
    assert.deepEqual(
      [f.name, f.title, f.mimetype, f.filetype, f.size, f.original_w, f.original_h],
      ['cat.png', 'A cat', 'image/png', 'png', PNG.length, 3, 2],
    );
    assert.deepEqual(
      (f.shares as { public: Record<string, { ts: string }[]> }).public[w.general.id].map((s) => s.ts),
      [share.ts],
    );
    const [event] = w.slack
      .deliveries(w.app)
      .map((d) => d.event)
      .filter((e) => e.subtype === 'file_share');
    assert.equal((event.files as { id: string }[])[0].id, fileId);
  });

  it('serves url_private only with a Bearer token that may read files', async () => {
    await w.bot.filesUploadV2({ channel_id: w.general.id, file: Buffer.from('secret bytes'), filename: 'notes.txt' });
    const f = (await w.bot.files.info({ file: w.slack.messages(w.general)[0].files![0] })).file!;
    const withToken = await fetch(f.url_private!, { headers: { authorization: `Bearer ${w.inst.botToken}` } });
    assert.equal(withToken.status, 200);
    assert.equal(withToken.headers.get('content-type'), 'text/plain');
    assert.equal(await withToken.text(), 'secret bytes');
    const download = await fetch(f.url_private_download!, { headers: { authorization: `Bearer ${w.inst.botToken}` } });
    assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename="notes.txt"/);
    // Without the header (or with a token in the query string) Slack answers its sign-in page.
    for (const url of [f.url_private!, `${f.url_private!}?token=${w.inst.botToken}`]) {
      const bare = await fetch(url);
      assert.equal(bare.status, 200);
      assert.match(bare.headers.get('content-type') ?? '', /^text\/html/);
      assert.notEqual(await bare.text(), 'secret bytes');
    }
    const manual = await fetch(f.url_private!, { redirect: 'manual' });
    assert.equal(manual.status, 302);
    const noScope = w.slack.install(w.slack.createApp({ name: 'noscope', botScopes: ['chat:write'], botEvents: [] }), w.team);
    w.slack.conversation(w.general).members.add(noScope.botUserId);
    const refused = await fetch(f.url_private!, { headers: { authorization: `Bearer ${noScope.botToken}` }, redirect: 'manual' });
    assert.equal(refused.status, 302);
  });

  it('a file a Slack user uploads arrives as a file_share event the bot can download', async () => {
    const { file, message } = w.alice.upload(w.general, { name: 'photo.png', data: PNG, comment: 'my *cat*' });
    const event = w.slack
      .deliveries(w.app)
      .map((d) => d.event)
      .find((e) => e.subtype === 'file_share')!;
    assert.equal(event.ts, message.ts);
    assert.equal(event.user, w.alice.id);
    assert.equal(event.text, 'my *cat*');
    assert.ok(Array.isArray(event.blocks));
    const [ef] = event.files as { id: string; url_private: string; mimetype: string }[];
    assert.deepEqual([ef.id, ef.mimetype], [file.id, 'image/png']);
    const bytes = Buffer.from(
      await (await fetch(ef.url_private, { headers: { authorization: `Bearer ${w.inst.botToken}` } })).arrayBuffer(),
    );
    assert.deepEqual(bytes, PNG);
  });

  it('accepts raw bytes at the upload URL, and completes an upload once, only after the bytes arrived', async () => {
    const first = await w.bot.files.getUploadURLExternal({ filename: 'a.bin', length: 3 });
    const early = w.bot.files.completeUploadExternal({ files: [{ id: first.file_id! }], channel_id: w.general.id });
    await assert.rejects(early, (e: WebAPIPlatformError) => e.data.error === 'file_not_found');
    const put = await fetch(first.upload_url!, { method: 'POST', body: Buffer.from([1, 2, 3]) });
    assert.equal(put.status, 200);
    assert.equal(await put.text(), 'OK - 3');
    const done = await w.bot.files.completeUploadExternal({ files: [{ id: first.file_id!, title: 'bytes' }], channel_id: w.general.id });
    assert.equal(done.files![0].title, 'bytes');
    const again = w.bot.files.completeUploadExternal({ files: [{ id: first.file_id! }], channel_id: w.general.id });
    await assert.rejects(again, (e: WebAPIPlatformError) => e.data.error === 'file_not_found');
    assert.deepEqual(w.slack.file(first.file_id!).data, Buffer.from([1, 2, 3]));
    // Without a channel the file stays private: no message.
    const lone = await w.bot.files.getUploadURLExternal({ filename: 'b.txt', length: 1 });
    await fetch(lone.upload_url!, { method: 'POST', body: 'x' });
    await w.bot.files.completeUploadExternal({ files: [{ id: lone.file_id! }] });
    assert.equal(w.slack.messages(w.general).length, 1);
  });

  it('needs files:write to upload and refuses the retired files.upload', async () => {
    const inst = w.slack.install(w.slack.createApp({ name: 'ro', botScopes: ['chat:write', 'files:read'], botEvents: [] }), w.team);
    const ro = webClient(w.slack, inst.botToken);
    await assert.rejects(
      ro.files.getUploadURLExternal({ filename: 'a', length: 1 }),
      (e: WebAPIPlatformError) => e.data.error === 'missing_scope' && (e.data as { needed?: string }).needed === 'files:write',
    );
    // The SDK no longer has files.upload; a hand-made call still reaches the method.
    await assert.rejects(
      w.bot.apiCall('files.upload', { channels: w.general.id, content: 'x', filename: 'x.txt' }),
      (e: WebAPIPlatformError) => e.data.error === 'method_deprecated',
    );
  });
});
