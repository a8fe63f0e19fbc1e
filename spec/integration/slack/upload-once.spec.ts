/**
 * A Matrix file reaches the channel once even when the answer to `files.completeUploadExternal`
 * is lost (the share was made): the retry asks `files.info` about the file ID stored before the
 * completion instead of uploading again. (A SIGKILL at that point: sigkill.spec.ts.)
 */
import { strict as assert } from 'node:assert';
import { startSlackBridge, linkedRoom, eventually, type SlackBridge } from './support';

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

describe('slack-bridge: Matrix uploads exactly once', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;

  before(async () => {
    b = await startSlackBridge('socket');
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.stop();
  });

  it('a completion whose answer was lost is found by files.info, not shared twice', async () => {
    const lost = b.slack.faults.lostAnswer('files.completeUploadExternal');
    const mxc = await b.matrixAlice.upload(PNG, 'image/png', 'once.png');
    await b.matrixAlice.sendMessage(roomId, { msgtype: 'm.image', body: 'once.png', url: mxc, info: { mimetype: 'image/png' } });
    await b.matrixAlice.sendMessage(roomId, 'after the file');
    await eventually(() => b.slack.posted(b.app, b.general).some((m) => m.text === 'after the file'), 'the next message on Slack');
    await b.connector().idle();
    assert.equal(lost.triggered, 1);
    const shares = b.slack.messages(b.general).filter((m) => m.subtype === 'file_share');
    assert.equal(shares.length, 1, 'one file_share');
    assert.equal(b.slack.calls('files.getUploadURLExternal').length, 1, 'uploaded once');
  });
});
