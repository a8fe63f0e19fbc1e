import { strict as assert } from 'node:assert';
import { isSlackHostedUrl } from '../../src/workspace/slack-hosts';

describe('slack workspace: where the bot token and uploads may go', () => {
  const slackApi = 'https://slack.com/api/';
  const ok = (url: string, api = slackApi) => isSlackHostedUrl(new URL(url), api);

  it("accepts Slack's own hosts over https", () => {
    assert.equal(ok('https://files.slack.com/files-pri/T1-F1/a.png'), true);
    assert.equal(ok('https://files.slack.com/upload/v1/abc'), true);
    assert.equal(ok('https://slack.com/x'), true);
  });

  it('refuses other hosts, look-alikes, and Slack hosts over plain http', () => {
    for (const url of [
      'https://docs.google.com/file/d/1',
      'https://files.slack.com.evil.example/a.png',
      'https://evilslack.com/a.png',
      'http://files.slack.com/a.png',
      'http://127.0.0.1:8080/a.png',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      assert.equal(ok(url), false, url);
    }
  });

  it("accepts the workspace's configured API origin and, over https, subdomains of its host", () => {
    assert.equal(ok('http://127.0.0.1:4000/files-pri/T1-F1/a.png', 'http://127.0.0.1:4000/api/'), true);
    assert.equal(ok('http://127.0.0.1:4001/files-pri/T1-F1/a.png', 'http://127.0.0.1:4000/api/'), false);
    assert.equal(ok('https://files.slack-gov.com/files-pri/a.png', 'https://slack-gov.com/api/'), true);
    assert.equal(ok('http://files.slack-gov.com/files-pri/a.png', 'https://slack-gov.com/api/'), false);
    assert.equal(ok('https://files.slack.com/a.png', 'https://slack-proxy.corp.example/api/'), true);
  });
});
