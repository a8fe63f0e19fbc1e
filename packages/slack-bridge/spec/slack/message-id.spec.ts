import { strict as assert } from 'node:assert';
import { slackMessageId, parseSlackMessageId, slackTxnKey } from '../../src/slack/message-id';

describe('slack message IDs', () => {
  it('(team, channel, ts) round-trips through one string', () => {
    const key = { team: 'T0123', channel: 'C0456', ts: '1700000000.000100' };
    assert.equal(slackMessageId(key), 'slack:T0123:C0456:1700000000.000100');
    assert.deepEqual(parseSlackMessageId(slackMessageId(key)), key);
  });

  it('separators and escape characters inside parts cannot make two messages share an ID', () => {
    const keys = [
      { team: 'T:1', channel: 'C', ts: '1.2' },
      { team: 'T', channel: '1:C', ts: '1.2' },
      { team: 'T%3A1', channel: 'C', ts: '1.2' },
      { team: 'T%', channel: 'C:', ts: ':1.2%' },
      { team: '', channel: 'C', ts: '1.2' },
    ];
    const ids = keys.map(slackMessageId);
    assert.equal(new Set(ids).size, keys.length);
    keys.forEach((k, i) => assert.deepEqual(parseSlackMessageId(ids[i]), k));
  });

  it('anything it did not produce parses to undefined', () => {
    for (const bad of [
      '',
      'slack',
      'slack:T:C',
      'slack:T:C:1.2:extra',
      'irc:T:C:1.2',
      'slack:T:C:',
      'slack:T::1.2',
      'slack:T%3a1:C:1.2',
      'slack:%41:C:1.2',
      'slack:T%:C:1.2',
      'slack:%E0:C:1.2',
    ]) {
      assert.equal(parseSlackMessageId(bad), undefined, bad);
    }
  });

  it('transaction keys are deterministic per message and part, and distinct across them', () => {
    assert.equal(slackTxnKey('C1', '1700000000.000100'), slackTxnKey('C1', '1700000000.000100'));
    const keys = [
      slackTxnKey('C1', '1700000000.000100'),
      slackTxnKey('C1', '1700000000.000100', 0),
      slackTxnKey('C1', '1700000000.000100', 'file-F1'),
      slackTxnKey('C1', '1700000000.000101'),
      slackTxnKey('C2', '1700000000.000100'),
      slackTxnKey('C1:1700000000.000100', ''),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });
});
