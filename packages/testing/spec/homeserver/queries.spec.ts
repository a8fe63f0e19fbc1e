import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser, at } from '../../src/homeserver/index';
import { FakeAppservice, call, registration } from './fake-appservice.spec-helper';

describe('homeserver emulator: appservice queries, ping, third party', () => {
  let hs: HomeserverEmulator;
  let fake: FakeAppservice;
  let alice: TestUser;

  beforeEach(async () => {
    fake = await FakeAppservice.start();
    hs = await HomeserverEmulator.start({
      registrations: [registration('slack', fake.url, { protocols: ['slack'] }), registration('nourl', null)],
      queryTimeoutMs: 100,
      queryRetries: 1,
    });
    alice = await hs.registerUser('alice');
  });
  afterEach(async () => {
    await hs.stop();
    await fake.stop();
  });

  it('user query: invite to an unknown namespaced user asks the AS, which registers it first', async () => {
    fake.answer = async (r) => {
      if (r.path.startsWith('/_matrix/app/v1/users/')) {
        const userId = decodeURIComponent(r.path.split('/').pop()!);
        if (userId === '@_slack_known:localhost') {
          const reg = await call(hs.url, 'POST', '/register', {
            token: 'as_slack',
            body: { type: 'm.login.application_service', username: '_slack_known', inhibit_login: true },
          });
          assert.equal(reg.status, 200);
          return { status: 200, body: {} };
        }
        return { status: 404, body: { errcode: 'M_NOT_FOUND' } };
      }
      return { status: 200, body: {} };
    };
    const roomId = await alice.createRoom({});
    await alice.invite(roomId, '@_slack_known:localhost');
    assert.equal(hs.membership(roomId, '@_slack_known:localhost'), 'invite');
    const q = fake.requests.find((r) => r.path.startsWith('/_matrix/app/v1/users/'))!;
    assert.equal(q.authorization, 'Bearer hs_slack');
    const r = await alice.request('POST', `/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: '@_slack_unknown:localhost' });
    assert.equal(r.status, 404);
    const p = await alice.request('GET', '/profile/%40_slack_unknown%3Alocalhost');
    assert.equal(p.status, 404);
    assert.equal(p.body.errcode, 'M_NOT_FOUND');
  });

  it('alias query: join and directory lookups of unknown namespaced aliases', async () => {
    let created: unknown; // the room the fake appservice made, compared with what the join answered
    fake.answer = async (r) => {
      if (r.path === '/_matrix/app/v1/rooms/%23_slack_general%3Alocalhost') {
        const c = await call(hs.url, 'POST', '/createRoom', {
          token: 'as_slack',
          body: { room_alias_name: '_slack_general', preset: 'public_chat' },
        });
        created = c.body.room_id;
        return { status: 200, body: {} };
      }
      return { status: 404, body: { errcode: 'M_NOT_FOUND' } };
    };
    const joined = await alice.join('#_slack_general:localhost');
    assert.equal(joined, created);
    assert.equal(hs.membership(joined, alice.userId), 'join');
    const again = await alice.request('GET', '/directory/room/%23_slack_general%3Alocalhost');
    assert.equal(again.body.room_id, created);
    assert.equal(fake.requests.filter((r) => r.path.includes('/rooms/')).length, 1, 'known alias does not query again');
    const miss = await alice.request('GET', '/directory/room/%23_slack_missing%3Alocalhost');
    assert.equal(miss.status, 404);
    const notNs = await alice.request('POST', '/join/%23random%3Alocalhost', {});
    assert.equal(notNs.status, 404);
    assert.equal(fake.requests.filter((r) => r.path.includes('random')).length, 0);
  });

  it('alias query that never answers → 408 after retries', async () => {
    fake.answer = () => 'hang';
    const r = await alice.request('GET', '/directory/room/%23_slack_slow%3Alocalhost');
    assert.equal(r.status, 408);
    assert.equal(fake.requests.length, 2);
  });

  it('ping round trip and its failure modes', async () => {
    let r = await call(hs.url, 'POST', '/_matrix/client/v1/appservice/slack/ping', { token: 'as_slack', body: { transaction_id: 't1' } });
    assert.equal(r.status, 200);
    assert.equal(typeof r.body.duration_ms, 'number');
    const ping = fake.requests.find((x) => x.path === '/_matrix/app/v1/ping')!;
    assert.equal(ping.authorization, 'Bearer hs_slack');
    assert.deepEqual(ping.json, { transaction_id: 't1' });

    r = await call(hs.url, 'POST', '/_matrix/client/v1/appservice/nourl/ping', { token: 'as_nourl', body: {} });
    assert.equal(r.body.errcode, 'M_URL_NOT_SET');
    r = await call(hs.url, 'POST', '/_matrix/client/v1/appservice/slack/ping', { token: 'as_nourl', body: {} });
    assert.equal(r.status, 403);
    fake.answer = () => ({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    r = await call(hs.url, 'POST', '/_matrix/client/v1/appservice/slack/ping', { token: 'as_slack', body: {} });
    assert.equal(r.status, 502);
    assert.equal(r.body.errcode, 'M_BAD_STATUS');
    assert.equal(r.body.status, 403);
    await fake.stop();
    r = await call(hs.url, 'POST', '/_matrix/client/v1/appservice/slack/ping', { token: 'as_slack', body: {} });
    assert.equal(r.body.errcode, 'M_CONNECTION_FAILED');
    fake = await FakeAppservice.start(); // for afterEach
  });

  it('third-party lookups are forwarded to the AS owning the protocol', async () => {
    fake.answer = (r) => {
      if (r.path === '/_matrix/app/v1/thirdparty/protocol/slack')
        return {
          status: 200,
          body: {
            user_fields: ['team'],
            location_fields: [],
            icon: '',
            field_types: {},
            instances: [{ desc: 'W', fields: {}, network_id: 'w1' }],
          },
        };
      if (r.path === '/_matrix/app/v1/thirdparty/location/slack')
        return { status: 200, body: [{ alias: '#_slack_x:localhost', protocol: 'slack', fields: { channel: r.query.get('channel') } }] };
      return { status: 404, body: { errcode: 'M_NOT_FOUND' } };
    };
    const protos = await alice.request('GET', '/thirdparty/protocols');
    assert.equal(at(protos.body, 'slack', 'instances', 0, 'network_id'), 'w1');
    assert.ok(at(protos.body, 'slack', 'instances', 0, 'instance_id'));
    const loc = await alice.request('GET', '/thirdparty/location/slack?channel=gen');
    assert.deepEqual(loc.json, [{ alias: '#_slack_x:localhost', protocol: 'slack', fields: { channel: 'gen' } }]);
    assert.equal((await alice.request('GET', '/thirdparty/protocol/irc')).status, 404);
  });
});
