import { strict as assert } from 'node:assert';
import { applyIsupportTokens, defaultIsupport, internIsupport } from '../../src/irc/isupport';

describe('irc: ISUPPORT', () => {
  it('reads the limits and naming rules a server announces', () => {
    const i = applyIsupportTokens(defaultIsupport(), [
      'CASEMAPPING=ascii',
      'CHANTYPES=#&',
      'NICKLEN=16',
      'PREFIX=(qov)~@+',
      'CHANMODES=b,k,l,imnt',
      'NETWORK=Test',
      'WHOX',
    ]);
    assert.equal(i.caseMapping, 'ascii');
    assert.equal(i.chanTypes, '#&');
    assert.equal(i.nickLen, 16);
    assert.deepEqual(
      i.prefixes.map((p) => p.symbol),
      ['~', '@', '+'],
    );
    assert.equal(i.raw.WHOX, true);
  });

  it('connections to the same server share one ISUPPORT object; a different server gets its own', () => {
    const tokens = ['CASEMAPPING=rfc1459', 'CHANTYPES=#', 'NICKLEN=30', 'NETWORK=Shared'];
    // Built separately, as two connections would, from fresh strings.
    const a = internIsupport(
      applyIsupportTokens(
        defaultIsupport(),
        tokens.map((t) => (' ' + t).slice(1)),
      ),
    );
    const b = internIsupport(
      applyIsupportTokens(
        defaultIsupport(),
        tokens.map((t) => (' ' + t).slice(1)),
      ),
    );
    assert.equal(a, b);
    const c = internIsupport(applyIsupportTokens(defaultIsupport(), [...tokens, 'NICKLEN=9']));
    assert.notEqual(c, a);
    assert.equal(c.nickLen, 9);
    assert.equal(a.nickLen, 30);
  });
});
