import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { HomeserverEmulator } from '@causeway/testing';
import { MatrixHttpClient } from '../../src/matrix/http-client';
import { MediaClient, parseMxc } from '../../src/matrix/media';
import { MatrixError } from '../../src/util/matrix-error';
import { FAST_BACKOFF } from './helpers';

const SERVER = 'localhost';
const AS_TOKEN = 'as_token_for_media_specs';
const REGISTRATION = {
  id: 'causeway-media',
  url: null,
  as_token: AS_TOKEN,
  hs_token: 'hs_token_for_media_specs',
  sender_localpart: '_cwm_bot',
  namespaces: { users: [{ exclusive: true, regex: `@_cwm_.*:${SERVER}` }] },
};
const V1_DOWNLOAD = 'GET /media/download/{serverName}/{mediaId}';
const LEGACY_DOWNLOAD = 'GET /_matrix/media/v3/download/{serverName}/{mediaId}';

describe('matrix/MediaClient (emulator)', function () {
  this.timeout(30_000);
  let hs: HomeserverEmulator;
  let client: MatrixHttpClient;

  async function start(opts: Record<string, unknown> = {}) {
    hs = await HomeserverEmulator.start({ serverName: SERVER, registrations: [REGISTRATION], ...opts });
    client = new MatrixHttpClient({ baseUrl: hs.url, asToken: AS_TOKEN, backoff: FAST_BACKOFF });
  }
  afterEach(async () => {
    await client?.close();
    await hs?.stop();
  });

  it('uploads and downloads (authenticated) the same bytes', async () => {
    await start();
    const media = new MediaClient(client);
    const data = randomBytes(64 * 1024);
    const mxc = await media.upload(data, { name: 'pic.png', mimetype: 'image/png' });
    assert.equal(parseMxc(mxc).serverName, SERVER);
    const got = await media.download(mxc);
    assert.ok(got.data.equals(data));
    assert.equal(got.mimetype, 'image/png');
    assert.equal(hs.requestCount(V1_DOWNLOAD), 1);
    assert.equal(hs.requestCount(LEGACY_DOWNLOAD), 0);
  });

  it('checks m.upload.size once and refuses bigger files before uploading', async () => {
    await start({ maxUploadBytes: 1000 });
    const media = new MediaClient(client);
    assert.equal(await media.uploadLimit(), 1000);
    await media.upload(Buffer.alloc(500));
    await assert.rejects(
      media.upload(Buffer.alloc(1001)),
      (e: unknown) => e instanceof MatrixError && e.status === 413 && e.errcode === 'M_TOO_LARGE',
    );
    assert.equal(hs.requestCount('GET /media/config'), 1);
    assert.equal(hs.requestCount('POST /_matrix/media/v3/upload'), 1);
  });

  it('falls back to the legacy download route on an older server (404 M_UNRECOGNIZED), and remembers', async () => {
    await start({ legacyMediaFrozen: false });
    const media = new MediaClient(client);
    const mxc = await media.upload(Buffer.from('old server'), { mimetype: 'text/plain' });
    hs.faults.error(V1_DOWNLOAD, 404, 'M_UNRECOGNIZED', { times: 1 });
    assert.equal((await media.download(mxc)).data.toString(), 'old server');
    assert.equal((await media.download(mxc)).data.toString(), 'old server');
    assert.equal(hs.requestCount(V1_DOWNLOAD), 1);
    assert.equal(hs.requestCount(LEGACY_DOWNLOAD), 2);
  });

  it('does not fall back when the media does not exist', async () => {
    await start();
    const media = new MediaClient(client);
    await assert.rejects(
      media.download(`mxc://${SERVER}/doesNotExist`),
      (e: unknown) => e instanceof MatrixError && e.status === 404 && e.errcode === 'M_NOT_FOUND',
    );
    assert.equal(hs.requestCount(LEGACY_DOWNLOAD), 0);
  });

  it('caps the download size', async () => {
    await start();
    const media = new MediaClient(client, { maxDownloadBytes: 1024 });
    const mxc = await media.upload(Buffer.alloc(4096, 1));
    await assert.rejects(media.download(mxc), (e: unknown) => e instanceof MatrixError && e.errcode === 'M_TOO_LARGE');
    assert.equal((await media.download(mxc, { maxBytes: 8192 })).data.length, 4096);
  });
});
