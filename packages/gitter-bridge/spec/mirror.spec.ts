/**
 * What a delivered Matrix → Gitter operation becomes for the Gitter room's other Matrix rooms
 * (mirror.ts): the message or edit as Gitter returned it, or the deletion; nothing for a failure.
 * (The core's RoomMirror names the room it came from: spec/integration/core/origin-room.spec.ts.)
 */
import { strict as assert } from 'node:assert';
import type { PortalKey } from '@causeway/bridge-core';
import { mirroredEvent, type MirrorDeps } from '../src/mirror';
import type { StoredOp } from '../src/outbox-send-store';
import type { GitterMessage, SendOutcome } from '../src/gitter';

const portal: PortalKey = { network: 'gitter', id: 'a'.repeat(24) };
const deps: MirrorDeps = {
  ghosts: { userIdFor: (k) => `@gitter_${k.id}:example.org` },
  puppetOf: () => undefined,
  authorOf: (id) => (id === 'm1' ? 'causeway-bot' : undefined),
};
const matrix = { eventId: '$e', roomId: '!a:example.org', sender: '@bob:example.org' };
const message = (v: number): GitterMessage => ({
  id: 'm1',
  text: '**Bob**: hi',
  sent: '2024-01-01T00:00:00.000Z',
  ...(v > 1 ? { editedAt: '2024-01-01T00:01:00.000Z' } : {}),
  fromUser: { id: 'u1', username: 'causeway-bot', displayName: 'Matrix bridge' },
  v,
});
const ok = (op: StoredOp, m?: GitterMessage): SendOutcome => ({ ok: true, op, ...(m ? { message: m } : {}) });

describe('gitter-bridge: mirroring Matrix operations to the other rooms', () => {
  it('a send: the message as Gitter shows it, from the poster, with its Gitter id', () => {
    const ev = mirroredEvent(ok({ kind: 'send', roomId: portal.id, body: { text: '**Bob**: hi' }, matrix }, message(1)), portal, deps);
    assert.equal(ev?.type, 'message');
    if (ev?.type !== 'message') return;
    assert.equal(ev.id, 'm1');
    assert.deepEqual(ev.sender, { ghost: { network: 'gitter', id: 'causeway-bot' }, displayName: 'Matrix bridge' });
    assert.equal(ev.content.body, '**Bob**: hi');
  });

  it('an edit: an edit of the message by its Gitter id; a delete: its deletion by the author it had', () => {
    const edit = mirroredEvent(
      ok({ kind: 'edit', roomId: portal.id, target: { messageId: 'm1' }, text: 'x', matrix }, message(2)),
      portal,
      deps,
    );
    assert.equal(edit?.type, 'edit');
    if (edit?.type === 'edit') assert.deepEqual([edit.targetId, edit.id], ['m1', 'm1.v2']);
    const del = mirroredEvent(ok({ kind: 'delete', roomId: portal.id, target: { messageId: 'm1' }, matrix }), portal, deps);
    assert.deepEqual(del, {
      type: 'delete',
      portal,
      sender: { ghost: { network: 'gitter', id: 'causeway-bot' } },
      targetId: 'm1',
    });
    const unknown = mirroredEvent(ok({ kind: 'delete', roomId: portal.id, target: { messageId: 'm2' }, matrix }), portal, deps);
    assert.deepEqual(unknown?.sender, { bot: true });
  });

  it('nothing for a failure', () => {
    const op: StoredOp = { kind: 'send', roomId: portal.id, body: { text: 'hi' }, matrix };
    assert.equal(mirroredEvent({ ok: false, op, error: new Error('no') }, portal, deps), undefined);
  });
});
