import { strict as assert } from 'node:assert';
import { txnId, txnIdForKey, uniqueTxnId } from '../../src/matrix/txn-id';

describe('matrix/txn-id', () => {
  it('is deterministic for a key and URL-safe', () => {
    assert.equal(txnId('slack:C1:1700000000.1234'), txnId('slack:C1:1700000000.1234'));
    assert.equal(txnId('k'), txnIdForKey('k'));
    assert.notEqual(txnId('a'), txnId('b'));
    assert.match(txnId('a/b?c'), /^[A-Za-z0-9._~-]+$/);
  });
  it('is unique without a key', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uniqueTxnId()));
    assert.equal(ids.size, 10_000);
    assert.notEqual(txnId(), txnId());
    assert.match(uniqueTxnId(), /^[A-Za-z0-9._~-]+$/);
  });
});
