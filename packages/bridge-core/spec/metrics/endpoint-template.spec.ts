import { strict as assert } from 'node:assert';
import { createEndpointTemplater, endpointTemplate, isKnownEndpointTemplate } from '../../src/metrics/endpoint-template';

describe('endpointTemplate', () => {
  const cases: Array<[string, string]> = [
    ['/_matrix/client/v3/rooms/!abc%3Aexample.org/send/m.room.message/m1700000000.42', '/rooms/{roomId}/send/{eventType}/{txnId}'],
    ['/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/1', '/rooms/{roomId}/send/{eventType}/{txnId}'],
    [
      '/_matrix/client/r0/rooms/%21abc%3Aexample.org/send/org.example.custom%2Fthing/txn-%F0%9F%98%80',
      '/rooms/{roomId}/send/{eventType}/{txnId}',
    ],
    ['/_matrix/client/v3/rooms/!a:b/send/m.room.message/tx?user_id=%40irc_bob%3Ahs&ts=1', '/rooms/{roomId}/send/{eventType}/{txnId}'],
    ['https://hs.example.org:8448/_matrix/client/v3/joined_rooms?user_id=@x:y', '/joined_rooms'],
    ['PUT /rooms/{roomId}/send/{eventType}/{txnId}', '/rooms/{roomId}/send/{eventType}/{txnId}'],
    ['PUT /rooms/{id}/send/m.room.message/abc', '/rooms/{roomId}/send/{eventType}/{txnId}'],
    ['/rooms/{roomId}/send/{eventType}/{txnId}', '/rooms/{roomId}/send/{eventType}/{txnId}'],
    // state keys: empty, a user ID, one with an (encoded or raw) slash
    ['/_matrix/client/v3/rooms/!a:b/state/m.room.name/', '/rooms/{roomId}/state/{eventType}/{stateKey}'],
    ['/_matrix/client/v3/rooms/!a:b/state/m.room.name', '/rooms/{roomId}/state/{eventType}'],
    ['/_matrix/client/v3/rooms/!a:b/state/m.room.member/%40alice%3Aexample.org', '/rooms/{roomId}/state/{eventType}/{stateKey}'],
    ['/_matrix/client/v3/rooms/!a:b/state/m.bridge/irc%2Flibera%2F%23chan', '/rooms/{roomId}/state/{eventType}/{stateKey}'],
    ['/_matrix/client/v3/rooms/!a:b/state/m.bridge/irc/libera/#chan', '/rooms/{roomId}/state/{eventType}/{stateKey}'],
    ['/_matrix/client/v3/rooms/!a:b/state', '/rooms/{roomId}/state'],
    ['/_matrix/client/v3/rooms/!a:b/joined_members/', '/rooms/{roomId}/joined_members'],
    ['/_matrix/client/v3/rooms/!a:b/redact/$ev%2Bsl%2Fash/txn1', '/rooms/{roomId}/redact/{eventId}/{txnId}'],
    ['/_matrix/client/v3/rooms/!a:b/receipt/m.read/$event:hs', '/rooms/{roomId}/receipt/{receiptType}/{eventId}'],
    ['/_matrix/client/v3/rooms/!a:b/typing/@ghost:hs', '/rooms/{roomId}/typing/{userId}'],
    ['/_matrix/client/v3/join/%23alias%3Ahs', '/join/{roomIdOrAlias}'],
    ['/_matrix/client/v3/directory/room/#alias:hs', '/directory/room/{roomAlias}'],
    ['/_matrix/client/v3/profile/@irc_nick:hs/displayname', '/profile/{userId}/displayname'],
    ['/_matrix/client/v3/register', '/register'],
    ['/_matrix/client/v3/user/@bot:hs/rooms/!r:hs/account_data/m.fully_read', '/user/{userId}/rooms/{roomId}/account_data/{type}'],
    ['/_matrix/client/v1/appservice/my-bridge/ping', '/appservice/{appserviceId}/ping'],
    ['/_matrix/media/v3/upload?filename=a.png', '/media/upload'],
    ['/_matrix/client/v1/media/download/hs.example/AbCdEf123', '/media/download/{serverName}/{mediaId}'],
    ['/_matrix/client/v1/media/download/hs.example/AbCdEf123/photo%20of%20me.png', '/media/download/{serverName}/{mediaId}/{fileName}'],
    ['/_matrix/media/v3/thumbnail/hs.example/AbC?width=64&height=64', '/media/thumbnail/{serverName}/{mediaId}'],
    ['//_matrix//client/v3//createRoom', '/createRoom'],
  ];
  for (const [path, want] of cases) {
    it(`${path} → ${want}`, () => {
      assert.equal(endpointTemplate(path), want);
      assert.ok(isKnownEndpointTemplate(want));
    });
  }

  it('unknown paths keep only word-like segments, and stop growing past a cap', () => {
    assert.equal(endpointTemplate('/_matrix/client/unstable/org.example/frobnicate/!room:hs'), '/{param}/frobnicate/{param}');
    assert.equal(endpointTemplate('/_synapse/admin/v1/users/@a:hs/shadow_ban'), '/_synapse/admin/v1/users/{param}/shadow_ban');
    const template = createEndpointTemplater(64);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      // every segment word-like: only the cap can bound these
      const word = String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + (Math.floor(i / 26) % 26));
      seen.add(template(`/_matrix/client/v3/${word}/${word}`));
    }
    assert.ok(seen.has('other'));
    assert.equal(seen.size, 65);
    // known routes are never capped
    assert.equal(template('/_matrix/client/v3/rooms/!x:y/send/m.room.message/1'), '/rooms/{roomId}/send/{eventType}/{txnId}');
  });
});
