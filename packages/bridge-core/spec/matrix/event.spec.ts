import { strict as assert } from 'node:assert';
import { isMatrixEvent } from '../../src/matrix/event';

describe('bridge-core: what counts as a Matrix event', () => {
  it('takes client-format events and refuses entries whose known fields have the wrong JSON types', () => {
    assert.equal(
      isMatrixEvent({
        type: 'm.room.message',
        room_id: '!r:hs',
        sender: '@a:hs',
        event_id: '$e',
        origin_server_ts: 1,
        content: { body: 'x' },
      }),
      true,
    );
    assert.equal(isMatrixEvent({ type: 'm.typing', content: { user_ids: [] } }), true, 'ephemeral events have no sender or ID');
    for (const bad of [
      null,
      [],
      'x',
      { content: {} },
      { type: 1 },
      { type: 't', sender: 5 },
      { type: 't', content: [] },
      { type: 't', content: 'body' },
      { type: 't', state_key: null },
      { type: 't', origin_server_ts: '1' },
      { type: 't', redacts: {} },
    ]) {
      assert.equal(isMatrixEvent(bad), false, JSON.stringify(bad));
    }
  });
});
