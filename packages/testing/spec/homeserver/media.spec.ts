import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser, asString } from '../../src/homeserver/index';
import { call, registration } from './fake-appservice.spec-helper';

describe('homeserver emulator: media', () => {
  let hs: HomeserverEmulator;
  let alice: TestUser;
  beforeEach(async () => {
    hs = await HomeserverEmulator.start({ registrations: [registration('slack', null)], maxUploadBytes: 1024 });
    alice = await hs.registerUser('alice');
  });
  afterEach(async () => {
    await hs.stop();
  });

  it('uploads, then downloads only with auth; legacy routes are frozen', async () => {
    const up = await call(hs.url, 'POST', '/_matrix/media/v3/upload', {
      token: 'as_slack',
      query: { filename: 'a.png' },
      raw: Buffer.from('PNGDATA'),
      headers: { 'content-type': 'image/png' },
    });
    assert.equal(up.status, 200);
    const mxc = asString(up.body.content_uri, 'content_uri');
    assert.match(mxc, /^mxc:\/\/localhost\/[A-Za-z]+$/);
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc)!;
    const path = `/_matrix/client/v1/media/download/${server}/${id}`;
    const noAuth = await call(hs.url, 'GET', path);
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.body.errcode, 'M_MISSING_TOKEN');
    const ok = await call(hs.url, 'GET', path + '/x.png', { token: alice.accessToken });
    assert.equal(ok.status, 200);
    assert.equal(ok.bytes.toString(), 'PNGDATA');
    assert.equal(ok.headers.get('content-type'), 'image/png');
    assert.match(ok.headers.get('content-disposition')!, /x\.png/);
    const legacy = await call(hs.url, 'GET', `/_matrix/media/v3/download/${server}/${id}`);
    assert.equal(legacy.status, 404);
    assert.equal(legacy.body.errcode, 'M_NOT_FOUND');
    assert.equal((await call(hs.url, 'GET', `/_matrix/client/v1/media/download/${server}/nope`, { token: alice.accessToken })).status, 404);
    assert.equal(hs.mediaBytes(mxc)!.toString(), 'PNGDATA');
  });

  it('unfrozen legacy media is served without auth', async () => {
    hs.setLegacyMediaFrozen(false);
    const mxc = await alice.upload(Buffer.from('hello'), 'text/plain');
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc)!;
    const legacy = await call(hs.url, 'GET', `/_matrix/media/v3/download/${server}/${id}`);
    assert.equal(legacy.status, 200);
    assert.equal(legacy.bytes.toString(), 'hello');
  });

  it('enforces the upload limit and reports it in media/config', async () => {
    const cfg = await call(hs.url, 'GET', '/_matrix/client/v1/media/config', { token: alice.accessToken });
    assert.deepEqual(cfg.body, { 'm.upload.size': 1024 });
    const big = await call(hs.url, 'POST', '/_matrix/media/v3/upload', { token: alice.accessToken, raw: Buffer.alloc(2048) });
    assert.equal(big.status, 413);
    assert.equal(big.body.errcode, 'M_TOO_LARGE');
    const anon = await call(hs.url, 'POST', '/_matrix/media/v3/upload', { raw: Buffer.from('x') });
    assert.equal(anon.status, 401);
  });

  it('async upload: create then PUT once', async () => {
    const c = await call(hs.url, 'POST', '/_matrix/media/v1/create', { token: alice.accessToken });
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(asString(c.body.content_uri, 'content_uri'))!;
    const dl = `/_matrix/client/v1/media/download/${server}/${id}`;
    assert.equal((await call(hs.url, 'GET', dl, { token: alice.accessToken })).body.errcode, 'M_NOT_YET_UPLOADED');
    const p = `/_matrix/media/v3/upload/${server}/${id}`;
    assert.equal((await call(hs.url, 'PUT', p, { token: alice.accessToken, raw: Buffer.from('a') })).status, 200);
    assert.equal(
      (await call(hs.url, 'PUT', p, { token: alice.accessToken, raw: Buffer.from('b') })).body.errcode,
      'M_CANNOT_OVERWRITE_MEDIA',
    );
    assert.equal((await call(hs.url, 'GET', dl, { token: alice.accessToken })).bytes.toString(), 'a');
  });
});
