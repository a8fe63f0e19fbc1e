import { strict as assert } from 'node:assert';
import { maiLinksFromNedb, portalsFromMaiLinks, nedbDocuments } from '../../src/migrate/mai-rooms';

const line = (doc: object) => JSON.stringify(doc);
/** rooms.db as MAI's NeDB store wrote it: index lines, links, a re-written link, a deleted one, a PM room. */
const ROOMS_DB = [
  line({ $$indexCreated: { fieldName: 'id', unique: true, sparse: false } }),
  line({
    _id: 'a1',
    id: '!portal:example.org #Chan irc.example.net',
    matrix_id: '!portal:example.org',
    remote_id: 'irc.example.net #Chan',
    remote: { domain: 'irc.example.net', channel: '#Chan', type: 'channel' },
    data: { origin: 'alias' },
  }),
  line({
    _id: 'a2',
    id: '!plumbed:example.org #ops irc.example.net',
    matrix_id: '!plumbed:example.org',
    remote: { domain: 'irc.example.net', channel: '#ops', type: 'channel' },
    data: { origin: 'join' },
  }),
  line({
    _id: 'a2',
    id: '!plumbed:example.org #ops irc.example.net',
    matrix_id: '!plumbed:example.org',
    remote: { domain: 'irc.example.net', channel: '#ops', type: 'channel', modes: ['s'] },
    data: { origin: 'provision' },
  }),
  line({
    _id: 'a3',
    matrix_id: '!fromconfig:example.org',
    remote: { domain: 'irc.example.net', channel: '#cfg', type: 'channel' },
    data: { origin: 'config' },
  }),
  line({
    _id: 'a4',
    matrix_id: '!gone:example.org',
    remote: { domain: 'irc.example.net', channel: '#gone', type: 'channel' },
    data: { origin: 'alias' },
  }),
  line({ $$deleted: true, _id: 'a4' }),
  line({
    _id: 'a5',
    matrix_id: '!pm:example.org',
    remote: { domain: 'irc.example.net', channel: 'Olive', type: 'pm' },
    data: { real_user_id: '@alice:example.org', virtual_user_id: '@irc_olive:example.org' },
  }),
  line({
    _id: 'a6',
    matrix_id: '!other:example.org',
    remote: { domain: 'irc.elsewhere.org', channel: '#x', type: 'channel' },
    data: { origin: 'alias' },
  }),
  '{"truncated": ',
].join('\n');

describe("irc-bridge: reading matrix-appservice-irc's NeDB rooms", () => {
  it('reads rooms.db as NeDB does: last write wins, deletions apply, index and broken lines are skipped', () => {
    assert.deepEqual(
      nedbDocuments(ROOMS_DB).map((d) => d._id),
      ['a1', 'a2', 'a3', 'a5', 'a6'],
    );
    const plan = portalsFromMaiLinks(maiLinksFromNedb(ROOMS_DB), (d) => (d === 'irc.example.net' ? 'irc.example.net' : undefined), 1000);
    assert.deepEqual(plan.portals, [
      { roomId: '!portal:example.org', key: { network: 'irc.example.net', id: '#chan' }, kind: 'portal', createdAt: 1000 },
      { roomId: '!plumbed:example.org', key: { network: 'irc.example.net', id: '#ops' }, kind: 'plumbed', createdAt: 1000 },
      {
        roomId: '!pm:example.org',
        key: { network: 'irc.example.net', id: 'olive' },
        kind: 'dm',
        dmUser: '@alice:example.org',
        createdAt: 1000,
      },
    ]);
    assert.deepEqual(plan.skipped, ['!other:example.org: #x on irc.elsewhere.org: no network here has the address irc.elsewhere.org']);
  });
});
