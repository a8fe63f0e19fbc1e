import { strict as assert } from 'node:assert';
import { MessageMap } from '../../src/messages/message-map';
import type { MessageRecord, MessageRepository } from '../../src/store/store';
import type { Logger } from '../../src/logging/logger';
import type { PortalKey } from '../../src/connector/ids';

/** A repository whose writes land only when the spec lets them, to see who waits for what. */
function slowRepo() {
  const rows: MessageRecord[] = [];
  const held: Array<() => void> = [];
  let failNext = false;
  const repo: MessageRepository = {
    put: (r) =>
      new Promise<void>((resolve, reject) => {
        held.push(() => {
          if (failNext) {
            failNext = false;
            reject(new Error('disk full'));
            return;
          }
          const i = rows.findIndex((x) => x.roomId === r.roomId && x.eventId === r.eventId && x.part === r.part);
          if (i >= 0) rows[i] = r;
          else rows.push(r);
          resolve();
        });
      }),
    getByEvent: async (roomId, eventId) => rows.filter((r) => r.roomId === roomId && r.eventId === eventId),
    getByRemote: async (portal, remoteId) =>
      rows.filter((r) => r.portal.network === portal.network && r.portal.id === portal.id && r.remoteId === remoteId),
    deleteByEvent: async (roomId, eventId) => {
      for (let i = rows.length - 1; i >= 0; i--) if (rows[i].roomId === roomId && rows[i].eventId === eventId) rows.splice(i, 1);
    },
    prune: async () => 0,
    count: async () => rows.length,
  };
  return {
    repo,
    rows,
    release: () => {
      for (const h of held.splice(0)) h();
    },
    failNext: () => {
      failNext = true;
    },
  };
}

function captureLog(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const log = {
    errors,
    error: (m: string) => {
      errors.push(m);
    },
    warn() {},
    info() {},
    debug() {},
    trace() {},
    child: () => log,
    isLevelEnabled: () => false,
  };
  return log;
}

const portal: PortalKey = { network: 'net', id: '#chan' };
const rec = (eventId: string, remoteId: string, part = 0): MessageRecord => ({
  roomId: '!r:hs',
  eventId,
  portal,
  remoteId,
  part,
  sender: '@a:hs',
  timestamp: 1,
  body: `body of ${eventId}`,
});

describe('bridge-core: the message map', () => {
  it('records off the serial path, and a lookup by room or by portal waits for what was recorded before it', async () => {
    const s = slowRepo();
    const map = new MessageMap(s.repo, captureLog());
    map.record([rec('$1', 'r1')]);
    const byRemote = map.byRemote(portal, 'r1');
    const byEvent = map.ref('!r:hs', '$1');
    let answered = false;
    void byRemote.then(() => {
      answered = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false, 'the lookup waits for the pending write');
    s.release();
    assert.equal((await byRemote)[0].eventId, '$1');
    assert.deepEqual(await byEvent, {
      remoteId: 'r1',
      remoteIds: ['r1'],
      eventId: '$1',
      sender: '@a:hs',
      body: 'body of $1',
      timestamp: 1,
    });
  });

  it("adds a message's late IDs after its parts, and an edit's after the edited message's highest part", async () => {
    const s = slowRepo();
    const map = new MessageMap(s.repo, captureLog());
    map.record([rec('$1', 'r1', 0), rec('$1', 'r2', 1)]);
    s.release();
    const late = map.addRemoteIds({
      message: {
        eventId: '$1',
        timestamp: 2,
        portal: { roomId: '!r:hs', key: portal },
        sender: { userId: '@a:hs' },
        content: { body: 'hi' },
      },
      remoteIds: ['msgid-1'],
      firstPart: 2,
    });
    const edit = map.addRemoteIds({
      edit: {
        timestamp: 3,
        portal: { roomId: '!r:hs', key: portal },
        target: { eventId: '$1', sender: '@a:hs' },
        content: { body: 'hi!' },
      },
      remoteIds: ['msgid-2', 'msgid-3'],
    });
    for (let i = 0; i < 5; i++) {
      s.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([late, edit]);
    assert.deepEqual(
      (await map.byEvent('!r:hs', '$1')).map((r) => [r.part, r.remoteId]),
      [
        [0, 'r1'],
        [1, 'r2'],
        [2, 'msgid-1'],
        [3, 'msgid-2'],
        [4, 'msgid-3'],
      ],
    );
    assert.equal((await map.byRemote(portal, 'msgid-3'))[0].body, 'hi!');
  });

  it('logs a failed write with what will not work, and does not throw; forget removes a message', async () => {
    const s = slowRepo();
    const log = captureLog();
    const map = new MessageMap(s.repo, log);
    s.failNext();
    map.record([rec('$1', 'r1')], 'replies to it will not cross');
    s.release();
    await map.idle();
    assert.deepEqual(log.errors, ['could not store a message mapping (replies to it will not cross)']);
    map.record([rec('$2', 'r2')]);
    s.release();
    await map.forget('!r:hs', '$2');
    assert.deepEqual(await map.byEvent('!r:hs', '$2'), []);
  });
});
