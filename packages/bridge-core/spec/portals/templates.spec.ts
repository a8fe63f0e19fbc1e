import { strict as assert } from 'node:assert';
import { Type } from '@sinclair/typebox';
import { LocalpartTemplate, escapeLocalpart, unescapeLocalpart } from '../../src/portals/templates';
import { bridgeTemplates } from '../../src/portals/template-config';
import { ConfigError } from '../../src/config/errors';
import { validateConfig } from '../../src/config/loader';
import { fromMatrixContent, toMatrixContent, readRelation, stripReplyFallback } from '../../src/messages/content-convert';

describe('bridge-core: ghost and alias templates', () => {
  it('escapes any remote ID into a valid localpart and back', () => {
    for (const id of ['Foo', 'a_b', 'héllo[m]', 'x y', '日本', '', 'UPPER_lower', '=already=']) {
      const e = escapeLocalpart(id);
      assert.match(e, /^[a-z0-9._=\-/]*$/, `escaped ${JSON.stringify(id)} → ${e}`);
      assert.equal(unescapeLocalpart(e), id);
    }
  });

  it('rejects strings that are not escapes', () => {
    assert.equal(unescapeLocalpart('_1'), null);
    assert.equal(unescapeLocalpart('=zz'), null);
    assert.equal(unescapeLocalpart('A'), null);
  });

  it('renders and matches $NETWORK and $ID', () => {
    const t = new LocalpartTemplate('irc_$NETWORK_$ID');
    const lp = t.render({ network: 'libera', id: 'Alice[m]' });
    assert.equal(lp, 'irc_libera__alice=5bm=5d');
    assert.deepEqual(t.match(lp), { network: 'libera', id: 'Alice[m]' });
    assert.equal(t.match('someone_else'), null);
    assert.equal(t.match('irc_libera_'), null);
  });

  it('keeps alias values readable when escaping is off', () => {
    const t = new LocalpartTemplate('irc_$NETWORK_$ID', { escape: false });
    assert.equal(t.render({ network: 'libera', id: '#Matrix' }), 'irc_libera_#Matrix');
    assert.deepEqual(t.match('irc_libera_#Matrix'), { network: 'libera', id: '#Matrix' });
    assert.equal(t.match('irc_libera_#a:b'), null);
  });

  it('parses network names containing the separator when told the known networks', () => {
    const alias = new LocalpartTemplate('irc_$NETWORK_$ID', { escape: false });
    assert.deepEqual(alias.match('irc_my_net_#chan', { networks: ['my', 'my_net'] }), { network: 'my_net', id: '#chan' });
    assert.deepEqual(alias.match('irc_my_#chan', { networks: ['my', 'my_net'] }), { network: 'my', id: '#chan' });
    assert.equal(alias.match('irc_other_#chan', { networks: ['my'] }), null);
    const ghost = new LocalpartTemplate('irc_$NETWORK_$ID');
    assert.deepEqual(ghost.match(ghost.render({ network: 'my_net', id: 'Bob' }), { networks: ['my_net'] }), {
      network: 'my_net',
      id: 'Bob',
    });
  });

  it("a template without $NETWORK names the one network it is given (MAI's single-network irc_$NICK)", () => {
    const ghost = new LocalpartTemplate('irc_$ID', { network: 'irc.example.org' });
    assert.equal(ghost.render({ network: 'irc.example.org', id: 'Bob' }), 'irc__bob');
    assert.deepEqual(ghost.match('irc__bob'), { network: 'irc.example.org', id: 'Bob' });
    assert.deepEqual(ghost.match('irc_carol', { networks: ['irc.example.org'] }), { network: 'irc.example.org', id: 'carol' });
    const alias = new LocalpartTemplate('irc_$ID', { escape: false, network: 'irc.example.org' });
    assert.deepEqual(alias.match('irc_#matrix'), { network: 'irc.example.org', id: '#matrix' });
    // Without a network to name, the network stays unknown (what a query then cannot resolve).
    assert.deepEqual(new LocalpartTemplate('irc_$ID').match('irc_bob'), { id: 'bob' });
    // A template with $NETWORK ignores the option.
    assert.deepEqual(new LocalpartTemplate('irc_$NETWORK_$ID', { network: 'x' }).match('irc_y_bob'), { network: 'y', id: 'bob' });
  });

  it('with several networks, a template without $NETWORK is a config error naming the key', () => {
    const defaults = { botLocalpart: 'bot', ghostLocalpartTemplate: 'irc_$NETWORK_$ID', aliasLocalpartTemplate: 'irc_$NETWORK_$ID' };
    assert.throws(
      () => bridgeTemplates({ ghost: 'irc_$ID' }, defaults, ['libera', 'oftc']),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        /^bridge\.ghost_localpart_template: "irc_\$ID" has no \$NETWORK, but 2 networks are configured \(libera, oftc\)/.test(
          err.problems[0],
        ),
    );
    assert.throws(() => bridgeTemplates({ alias: 'irc_$ID' }, defaults, ['libera', 'oftc']), /bridge\.alias_localpart_template/);
    const one = bridgeTemplates({ ghost: 'irc_$ID', alias: 'irc_$ID' }, defaults, ['libera']);
    assert.deepEqual(one.ghost.match('irc_bob'), { network: 'libera', id: 'bob' });
    assert.deepEqual(one.alias?.match('irc_#chan'), { network: 'libera', id: '#chan' });
    const section = {
      key: 'mem',
      schema: Type.Object({ nets: Type.Array(Type.String()) }),
      networkNames: (s: unknown) => (s as { nets: string[] }).nets,
      defaults,
    };
    const cfg = (nets: string[]) => ({
      homeserver: { url: 'http://127.0.0.1:8008', domain: 'localhost' },
      bridge: { ghost_localpart_template: 'irc_$ID' },
      mem: { nets },
    });
    assert.doesNotThrow(() => validateConfig(cfg(['libera']), section));
    assert.throws(() => validateConfig(cfg(['libera', 'oftc']), section), /bridge\.ghost_localpart_template: "irc_\$ID" has no \$NETWORK/);
  });

  it('refuses a template without $ID', () => {
    assert.throws(() => new LocalpartTemplate('irc_$NETWORK'), /\$ID/);
  });
});

describe('bridge-core: Matrix content conversion', () => {
  it('reads text, HTML and mentions, and drops HTML equal to the body', () => {
    const c = fromMatrixContent({
      msgtype: 'm.text',
      body: 'hi **x**',
      format: 'org.matrix.custom.html',
      formatted_body: 'hi <b>x</b>',
      'm.mentions': { user_ids: ['@a:hs', 5] },
    });
    assert.deepEqual(c, { kind: 'text', body: 'hi **x**', html: 'hi <b>x</b>', mentions: ['@a:hs'] });
    assert.equal(
      fromMatrixContent({ msgtype: 'm.text', body: 'same', format: 'org.matrix.custom.html', formatted_body: 'same' })?.html,
      undefined,
    );
  });

  it('returns null for malformed or unknown content instead of throwing', () => {
    for (const bad of [
      null,
      'x',
      5,
      {},
      { msgtype: 'm.text' },
      { msgtype: 'm.text', body: 7 },
      { msgtype: 'm.unknown', body: 'x' },
      { msgtype: 'm.image', body: 'x.png' },
    ]) {
      assert.equal(fromMatrixContent(bad), null, JSON.stringify(bad));
    }
  });

  it('reads media with its info', () => {
    const c = fromMatrixContent({
      msgtype: 'm.image',
      body: 'cat.png',
      url: 'mxc://hs/abc',
      info: { mimetype: 'image/png', size: 10, w: 2, h: 3 },
    });
    assert.deepEqual(c?.media, { mxc: 'mxc://hs/abc', name: 'cat.png', mimetype: 'image/png', size: 10, width: 2, height: 3 });
  });

  it('strips reply fallbacks from replies only', () => {
    const content = {
      msgtype: 'm.text',
      body: '> <@b:hs> question\n> more\n\nanswer',
      format: 'org.matrix.custom.html',
      formatted_body: '<mx-reply><blockquote>q</blockquote></mx-reply>answer',
    };
    assert.deepEqual(fromMatrixContent(content, { isReply: true }), { kind: 'text', body: 'answer' });
    assert.equal(fromMatrixContent(content)?.body, content.body);
    assert.deepEqual(stripReplyFallback('> only quote'), { body: '', html: undefined });
  });

  it('writes Matrix content with mentions, HTML and media info', () => {
    assert.deepEqual(toMatrixContent({ kind: 'emote', body: 'waves', html: '<i>waves</i>', mentions: ['@a:hs'] }), {
      msgtype: 'm.emote',
      body: 'waves',
      format: 'org.matrix.custom.html',
      formatted_body: '<i>waves</i>',
      'm.mentions': { user_ids: ['@a:hs'] },
    });
    const file = toMatrixContent({
      kind: 'file',
      body: 'report',
      media: { mxc: 'mxc://hs/f', name: 'report.pdf', mimetype: 'application/pdf', size: 3 },
    });
    assert.equal(file.url, 'mxc://hs/f');
    assert.equal(file.filename, 'report.pdf');
    assert.deepEqual(file.info, { mimetype: 'application/pdf', size: 3 });
  });

  it('reads relations defensively and ignores thread fallback replies', () => {
    assert.deepEqual(readRelation({ 'm.relates_to': { rel_type: 'm.annotation', event_id: '$e', key: '👍' } }), {
      type: 'm.annotation',
      eventId: '$e',
      key: '👍',
      inReplyTo: undefined,
    });
    assert.equal(
      readRelation({ 'm.relates_to': { rel_type: 'm.thread', event_id: '$r', is_falling_back: true, 'm.in_reply_to': { event_id: '$x' } } })
        .inReplyTo,
      undefined,
    );
    assert.deepEqual(readRelation({ 'm.relates_to': 'nonsense' }), {});
    assert.deepEqual(readRelation(undefined), {});
  });
});
