import { strict as assert } from 'node:assert';
import { HomeserverEmulator } from '../../src/homeserver/index';
import { FakeAppservice, call, registration } from './fake-appservice.spec-helper';

describe('homeserver emulator: smoke', () => {
  let hs: HomeserverEmulator;
  let as: FakeAppservice;
  before(async () => {
    as = await FakeAppservice.start();
    hs = await HomeserverEmulator.start({ registrations: [registration('slack', as.url)] });
  });
  after(async () => {
    await hs.stop();
    await as.stop();
  });

  it('registers a ghost, creates a room and pushes events', async () => {
    const r = await call(hs.url, 'POST', '/register', {
      token: 'as_slack',
      body: { type: 'm.login.application_service', username: '_slack_u1', inhibit_login: true },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const c = await call(hs.url, 'POST', '/createRoom', { token: 'as_slack', body: { name: 'x' } });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    await hs.pusher.waitForIdle();
    assert.ok(as.events().length >= 5);
  });
});
