import { strict as assert } from 'node:assert';
import { RawConnection, at, parseJson, requestBytes } from '@causeway/testing';
import { MemoryConnector, startBridgeFixture, type BridgeFixture } from '@causeway/testing/bridge';

const DOWNLOAD = 'GET /media/download/{serverName}/{mediaId}';

describe('bridge-core: media proxy for remote users', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;

  before(async () => {
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: (asUrl) => ({ media_proxy: { public_url: asUrl } }),
    });
  });
  after(async () => {
    await fx.stop();
  });

  it('serves authenticated homeserver media through a signed link, without any token', async () => {
    const alice = await fx.hs.registerUser('alice');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const mxc = await alice.upload(png, 'image/png', 'cat.png');
    // The homeserver's own unauthenticated route is frozen: a raw URL would not work for remote users.
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc)!;
    assert.equal((await fetch(`${fx.hs.url}/_matrix/media/v3/download/${server}/${id}`)).status, 404);
    const url = connector.ctx.media.publicUrl(mxc, 'cat.png')!;
    assert.ok(url.startsWith(fx.asUrl + '/_causeway/media/v1/'), url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
  });

  it('downloads a link that many open at once only once, and serves repeats from memory', async () => {
    const alice = await fx.hs.registerUser('alice-popular');
    const png = Buffer.alloc(20_000, 7);
    const mxc = await alice.upload(png, 'image/png', 'meme.png');
    const url = connector.ctx.media.publicUrl(mxc, 'meme.png')!;
    const before = fx.hs.requestCount(DOWNLOAD);
    fx.hs.faults.setLatency(50, DOWNLOAD); // a slow homeserver: all 50 arrive while the first download runs
    try {
      const bodies = await Promise.all(Array.from({ length: 50 }, async () => Buffer.from(await (await fetch(url)).arrayBuffer())));
      assert.ok(bodies.every((b) => b.equals(png)));
      assert.equal(fx.hs.requestCount(DOWNLOAD) - before, 1, 'one homeserver download for 50 opens');
      assert.ok((await fetch(url)).ok);
      assert.equal(fx.hs.requestCount(DOWNLOAD) - before, 1, 'a later open comes from memory');
    } finally {
      fx.hs.faults.setLatency(0, DOWNLOAD);
    }
  });

  it('bounds downloads running at once: beyond a short wait, 503 with Retry-After, and the bridge keeps serving', async () => {
    const alice = await fx.hs.registerUser('alice-many');
    const urls: string[] = [];
    for (let i = 0; i < 60; i++)
      urls.push(connector.ctx.media.publicUrl(await alice.upload(Buffer.from(`file ${i}`), 'text/plain', `f${i}.txt`), `f${i}.txt`)!);
    // The homeserver holds every download until 24 requests have been turned away: nothing finishes early.
    const held = fx.hs.faults.hold(DOWNLOAD, { times: Infinity });
    let refused = 0;
    try {
      const pending = urls.map((u) =>
        fetch(u).then(async (r) => {
          if (r.status === 503 && ++refused === 24) held.release();
          return { status: r.status, retry: r.headers.get('retry-after'), body: await r.text() };
        }),
      );
      const res = await Promise.all(pending);
      const ok = res.filter((r) => r.status === 200),
        busy = res.filter((r) => r.status === 503);
      // 4 downloads at a time and 32 waiting (the defaults): 36 served, 24 told to come back.
      assert.equal(ok.length, 36, JSON.stringify(res.map((r) => r.status)));
      assert.equal(busy.length, 24);
      assert.ok(busy.every((r) => r.retry === '2' && at(parseJson(r.body), 'errcode') === 'M_LIMIT_EXCEEDED'));
      assert.ok(fx.hs.peakConcurrency(DOWNLOAD) <= 4, `peak ${fx.hs.peakConcurrency(DOWNLOAD)}`);
    } finally {
      held.release();
    }
    const again = await fetch(urls[59]);
    assert.equal(again.status, 200);
    assert.equal(await again.text(), 'file 59');
  });

  it('refuses forged and retargeted links', async () => {
    const alice = await fx.hs.registerUser('alice2');
    const a = await alice.upload(Buffer.from('a'), 'text/plain', 'a.txt');
    const b = await alice.upload(Buffer.from('b'), 'text/plain', 'b.txt');
    const urlA = connector.ctx.media.publicUrl(a, 'a.txt')!;
    const idA = a.split('/').pop()!;
    const idB = b.split('/').pop()!;
    assert.equal((await fetch(urlA.replace(idA, idB))).status, 404, 'signature bound to the media ID');
    const forged = urlA.replace(/\/([A-Za-z0-9_-]{32})\//, '/' + 'A'.repeat(32) + '/');
    assert.equal((await fetch(forged)).status, 404, 'forged signature');
  });

  it('serves files whose names are not ASCII (ASCII filename=, exact name in filename*), and the keep-alive connection stays sound', async () => {
    const alice = await fx.hs.registerUser('alice-names');
    const files: Array<[name: string, type: string, ascii: string]> = [
      ['résumé.txt', 'text/plain', 'resume.txt'],
      ['re\u0301sume\u0301.txt', 'text/plain', 'resume.txt'], // decomposed accents
      ['文件.txt', 'text/plain', '__.txt'],
      ['😀.png', 'image/png', '__.png'],
      ['a "quoted"\\name%41.bin', 'application/pdf', 'a _quoted__name_41.bin'],
    ];
    // One connection for every request: a broken answer would corrupt the ones after it.
    const conn = await RawConnection.open(Number(new URL(fx.asUrl).port));
    try {
      for (const [i, [name, type, ascii]] of files.entries()) {
        const data = Buffer.from(`contents of file ${i}`);
        const link = new URL(connector.ctx.media.publicUrl(await alice.upload(data, type, name), name)!);
        await conn.write(requestBytes('GET', link.pathname));
        const res = await conn.response();
        assert.ok(res, `connection closed instead of serving ${name}`);
        assert.equal(res.status, 200, `${name}: ${res.status} ${res.body.toString()}`);
        assert.deepEqual(res.body, data);
        const disposition = res.headers['content-disposition'];
        const m = /^(inline|attachment); filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(disposition);
        assert.ok(m, `${name}: ${disposition}`);
        assert.equal(m[2], ascii);
        assert.equal(decodeURIComponent(m[3]), name);
      }
      assert.equal(conn.isClosed, false);
    } finally {
      conn.destroy();
    }
  });

  it('refuses a link whose file name was changed: the signature covers what it serves', async () => {
    const alice = await fx.hs.registerUser('alice-rename');
    const link = connector.ctx.media.publicUrl(await alice.upload(Buffer.from('%PDF'), 'application/pdf', 'report.pdf'), 'report.pdf')!;
    assert.equal((await fetch(link)).status, 200);
    const renamed = await fetch(link.replace(/\/report\.pdf$/, '/invoice.exe'));
    assert.equal(renamed.status, 404);
    assert.equal(((await renamed.json()) as { errcode: string }).errcode, 'M_NOT_FOUND');
  });

  it('never serves active content inline', async () => {
    const alice = await fx.hs.registerUser('alice3');
    const mxc = await alice.upload(Buffer.from('<script>alert(1)</script>'), 'text/html', 'x.html');
    const res = await fetch(connector.ctx.media.publicUrl(mxc, 'x.html')!);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/);
  });
});
