/**
 * RoomMirror: what a Matrix user did in one room of a portal goes to the portal's other rooms as a
 * remote event with `originRoomId`, built only when there is another (non-DM) room, once per
 * operation however often the connector hands it over, and a failure is logged, never thrown.
 */
import { strict as assert } from 'node:assert';
import { RoomMirror, type RoomMirrorContext } from '../../src/connector/room-mirror';
import type { Portal } from '../../src/connector/portal';
import type { RemoteEvent } from '../../src/connector/remote-events';

const key = { network: 'net', id: '#chan' };
const room = (roomId: string, kind: Portal['kind'] = 'plumbed'): Portal => ({ roomId, key, kind, createdAt: 0 });
const message = (id: string): RemoteEvent => ({
  type: 'message',
  portal: key,
  sender: { ghost: { network: 'net', id: 'relay' } },
  id,
  content: { kind: 'text', body: 'hi' },
});

function fake(rooms: Portal[], emit: (ev: RemoteEvent) => Promise<void> = () => Promise.resolve()) {
  const emitted: RemoteEvent[] = [];
  const warnings: Array<{ msg: string; meta?: Record<string, unknown> }> = [];
  const ctx = {
    portals: { getByKey: () => Promise.resolve(rooms) },
    remote: {
      emit: async (ev: RemoteEvent) => {
        await emit(ev);
        emitted.push(ev);
      },
    },
    log: { warn: (msg: string, meta?: Record<string, unknown>) => warnings.push({ msg, meta }) },
  } as unknown as RoomMirrorContext;
  return { mirror: new RoomMirror(ctx, { thing: 'a line', place: 'its channel' }), emitted, warnings };
}

describe('bridge-core: RoomMirror', () => {
  it('emits the built event with originRoomId when the portal has another room, once per operation', async () => {
    const { mirror, emitted } = fake([room('!a'), room('!b')]);
    await mirror.show({ roomId: '!a', portal: key, build: () => message('r1') });
    await mirror.show({ roomId: '!a', portal: key, build: () => message('r1') });
    await mirror.show({ roomId: '!a', portal: key, build: () => ({ type: 'delete', portal: key, sender: { bot: true }, targetId: 'r1' }) });
    assert.deepEqual(
      emitted.map((e) => [e.type, e.originRoomId]),
      [
        ['message', '!a'],
        ['delete', '!a'],
      ],
    );
  });

  it('tells a reaction handed over again by what the connector names, and shows it again only under another name', async () => {
    const { mirror, emitted } = fake([room('!a'), room('!b')]);
    const reaction = (): RemoteEvent => ({ type: 'reaction', portal: key, sender: { bot: true }, targetId: 'r1', key: '👍' });
    await mirror.show({ roomId: '!a', portal: key, build: reaction, once: '$react1' });
    await mirror.show({ roomId: '!a', portal: key, build: reaction, once: '$react1' });
    await mirror.show({ roomId: '!a', portal: key, build: reaction });
    await mirror.show({ roomId: '!a', portal: key, build: reaction, once: '$react2' });
    assert.equal(emitted.length, 3);
  });

  it('builds nothing without another non-DM room, and emits nothing for an undefined build', async () => {
    let built = 0;
    const build = () => {
      built++;
      return message('r2');
    };
    const only = fake([room('!a'), room('!dm', 'dm')]);
    await only.mirror.show({ roomId: '!a', portal: key, build });
    assert.equal(built, 0);
    assert.deepEqual(only.emitted, []);
    const two = fake([room('!a'), room('!b')]);
    await two.mirror.show({ roomId: '!a', portal: key, build: () => undefined });
    assert.deepEqual(two.emitted, []);
  });

  it('logs a failed emit (with the fields given) and shows the operation when handed over again', async () => {
    let fail = true;
    const { mirror, emitted, warnings } = fake([room('!a'), room('!b')], () =>
      fail ? Promise.reject(new Error('down')) : Promise.resolve(),
    );
    await mirror.show({ roomId: '!a', portal: key, build: () => message('r3'), logFields: { channel: '#chan' } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].msg, /a line not shown in the other Matrix rooms of its channel/);
    assert.deepEqual(warnings[0].meta, { channel: '#chan', err: 'Error: down' });
    fail = false;
    await mirror.show({ roomId: '!a', portal: key, build: () => message('r3') });
    assert.equal(emitted.length, 1);
  });
});
