/**
 * A Matrix room name as a Slack channel name: lower-case, accents dropped, runs of anything else
 * one `-`, no `-` at either end, at most 80 characters; nothing left when no letter or digit is.
 */
import { strict as assert } from 'node:assert';
import { slackChannelName } from '../../src/slack';

describe('slack-bridge: Slack channel names from Matrix room names', () => {
  it('lower-cases, drops accents and turns spaces and punctuation into single dashes', () => {
    assert.equal(slackChannelName('Café Talk: Q3 Plans!'), 'cafe-talk-q3-plans');
    assert.equal(slackChannelName('  dev -- ops  '), 'dev-ops');
    assert.equal(slackChannelName('snake_case_ok'), 'snake_case_ok');
    assert.equal(slackChannelName('Ünïcödé'), 'unicode');
  });

  it('keeps at most 80 characters, without a dash at the end', () => {
    const name = slackChannelName(`${'a'.repeat(79)} b`);
    assert.equal(name, 'a'.repeat(79));
    assert.equal(slackChannelName('x'.repeat(200)).length, 80);
  });

  it('is empty when nothing Slack accepts is left', () => {
    assert.equal(slackChannelName('日本語'), '');
    assert.equal(slackChannelName('!!!'), '');
  });
});
