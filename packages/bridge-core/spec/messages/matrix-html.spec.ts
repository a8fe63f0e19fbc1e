import { strict as assert } from 'node:assert';
import { sanitizeMatrixHtml, escapeHtml } from '../../src/messages/matrix-html';
import { fromMatrixContent, toMatrixContent } from '../../src/messages/content-convert';

describe('bridge-core: HTML towards Matrix', () => {
  it('keeps the formatting Matrix clients render', () => {
    const html =
      '<b>bold</b> <i>it</i> <del>gone</del> <code class="language-ts">x</code> <a href="https://matrix.to/#/@a:b">A</a>' +
      '<pre><code>block</code></pre><blockquote>q</blockquote><ul><li>one</li></ul><ol start="3"><li>three</li></ol>' +
      '<font color="#ff0000" data-mx-color="#ff0000">red</font><span data-mx-spoiler>secret</span>';
    assert.equal(sanitizeMatrixHtml(html), html);
  });

  it('drops scripts, event handlers, styles, foreign images and javascript: links', () => {
    assert.equal(sanitizeMatrixHtml('hi<script>alert(1)</script>'), 'hi');
    assert.equal(sanitizeMatrixHtml('<img src="x" onerror="alert(1)">'), '<img />');
    assert.equal(sanitizeMatrixHtml('<img src="https://tracker.example/p.png">'), '<img />');
    assert.equal(sanitizeMatrixHtml('<img src="mxc://hs/abc" alt="cat">'), '<img src="mxc://hs/abc" alt="cat" />');
    assert.equal(sanitizeMatrixHtml('<a href="javascript:alert(1)">x</a>'), '<a>x</a>');
    assert.equal(sanitizeMatrixHtml('<p style="position:fixed">x</p>'), '<p>x</p>');
    assert.equal(sanitizeMatrixHtml('<font color="red;background:url(x)">x</font>'), '<font>x</font>');
    assert.equal(sanitizeMatrixHtml('<iframe src="https://evil"></iframe>ok'), 'ok');
  });

  it('is applied to every remote message the core sends, whatever the connector produced', () => {
    const content = toMatrixContent({ kind: 'text', body: 'hi', html: '<b>hi</b><img src=x onerror=alert(1)>' });
    assert.equal(content.formatted_body, '<b>hi</b><img />');
    assert.equal(content.format, 'org.matrix.custom.html');
  });

  it('carries a room mention both ways as m.mentions.room', () => {
    assert.deepEqual(toMatrixContent({ kind: 'text', body: '@room hi', mentionsRoom: true })['m.mentions'], { user_ids: [], room: true });
    assert.deepEqual(toMatrixContent({ kind: 'text', body: 'hi' })['m.mentions'], { user_ids: [] });
    assert.equal(fromMatrixContent({ msgtype: 'm.text', body: '@room hi', 'm.mentions': { room: true } })?.mentionsRoom, true);
    assert.equal(fromMatrixContent({ msgtype: 'm.text', body: '@room hi' })?.mentionsRoom, undefined);
  });

  it('escapes text so it cannot open markup or leave an attribute', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });
});
