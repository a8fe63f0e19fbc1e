import { strict as assert } from 'node:assert';
describe('test runner', () => {
  it('runs TypeScript specs', () => { assert.equal(1 + 1, 2); });
});
