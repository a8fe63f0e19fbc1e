import { strict as assert } from 'node:assert';
import { PuppetEchoes, editKey, reactionKey } from '../../src/puppets/puppet-echoes';

describe('puppets: echoes of calls made with a user token', () => {
  it('settled waits for the posts in flight of that user in that channel only', async () => {
    const echoes = new PuppetEchoes();
    let finish!: () => void;
    const post = new Promise<void>((r) => (finish = r));
    void echoes.track('C1', 'U1', post);
    let waited = false;
    const wait = echoes.settled('C1', 'U1').then(() => (waited = true));
    await echoes.settled('C1', 'U2');
    await echoes.settled('C2', 'U1');
    await new Promise((r) => setImmediate(r));
    assert.equal(waited, false);
    finish();
    await wait;
    assert.equal(waited, true);
  });

  it('a failed post does not hold later events', async () => {
    const echoes = new PuppetEchoes();
    await assert.rejects(echoes.track('C1', 'U1', Promise.reject(new Error('x'))));
    await echoes.settled('C1', 'U1');
  });

  it('expected edits and reactions are taken once each; a cancelled one is not taken', () => {
    const echoes = new PuppetEchoes();
    echoes.expect(editKey('C1', '1.1'));
    echoes.expect(editKey('C1', '1.1'));
    echoes.expect(reactionKey('C1', '1.1', '+1', true));
    assert.equal(echoes.take(reactionKey('C1', '1.1', '+1', false)), false, 'a removal is not the addition');
    assert.equal(echoes.take(reactionKey('C1', '1.1', '+1', true)), true);
    assert.equal(echoes.take(reactionKey('C1', '1.1', '+1', true)), false);
    assert.equal(echoes.take(editKey('C1', '1.1')), true);
    echoes.cancel(editKey('C1', '1.1'));
    assert.equal(echoes.take(editKey('C1', '1.1')), false);
  });
});
