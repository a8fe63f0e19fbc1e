// A Matrix topic or room name change in a linked (or team-synced) portal → the Slack channel:
// `conversations.setTopic` always, `conversations.rename` only when the operator opted in
// (`rename_channels`: renaming a channel is intrusive, and Slack lets only its creator or an admin
// do it). A logged-in puppet's change is made with their own token, so their Slack permissions
// apply. Slack's refusal is told to the Matrix user; the echo Slack sends back is dropped
// (to-matrix/echo-filter).
import { BridgeError, type MatrixRoomMeta } from '@causeway/bridge-core';
import type { WorkspaceContext } from '../workspace/workspace-context';
import type { SlackSender } from './slack-sender';
import type { SlackCall } from './slack-call';
import { callerFields } from '../puppets/puppet-send';
import { slackErrorCode } from '../puppets/puppets';
import { slackChannelName } from '../slack';

export async function roomMetaToSlack(ws: WorkspaceContext, sender: SlackSender, change: MatrixRoomMeta): Promise<void> {
  if (change.portal.kind === 'dm') return;
  const channel = change.portal.key.id;
  const base = {
    eventId: change.eventId,
    // Replayed by the core after a crash: the change may have been made (the sender checks first).
    ...(change.redelivered ? { mayExist: true } : {}),
    ...callerFields(ws, change.sender.userId, change.portal),
  };
  const asPuppet = !!base.puppet;
  if (change.topic !== undefined) {
    const call: SlackCall = { method: 'conversations.setTopic', args: { channel, topic: change.topic } };
    const tell = { userId: change.sender.userId, what: `Your topic change ("${change.topic.slice(0, 80)}")` };
    await send(
      sender,
      channel,
      { ...base, call, tell },
      (code) => `The topic was not changed on Slack: ${explain(code, asPuppet, 'topic')}`,
    );
  }
  if (change.name !== undefined) {
    if (!ws.cfg.rename_channels) {
      ws.ctx.log.debug('Matrix room name not bridged (rename_channels is off)', { workspace: ws.name, channel });
      return;
    }
    const name = slackChannelName(change.name);
    if (!name)
      throw new BridgeError(
        `The Slack channel was not renamed: "${change.name}" leaves no valid Slack channel name (lower-case letters, digits, - and _).`,
      );
    const call: SlackCall = { method: 'conversations.rename', args: { channel, name } };
    await send(
      sender,
      channel,
      { ...base, call, tell: { userId: change.sender.userId, what: `The rename of the Slack channel to #${name}` } },
      (code) => `The Slack channel was not renamed to #${name}: ${explain(code, asPuppet, 'name')}`,
    );
  }
}

async function send(
  sender: SlackSender,
  channel: string,
  stored: Parameters<SlackSender['call']>[1],
  sentence: (code: string | undefined) => string,
): Promise<void> {
  try {
    await sender.call(channel, stored);
  } catch (err) {
    if (err instanceof BridgeError && err.opts.notify === 'none') throw err; // stopping: sent after the restart
    throw new BridgeError(sentence(slackErrorCode(err instanceof BridgeError ? err.opts.cause : err)), { cause: err });
  }
}

/** Why Slack refused, for the Matrix user. */
function explain(code: string | undefined, asPuppet: boolean, what: 'topic' | 'name'): string {
  const who = asPuppet ? 'your Slack account' : 'the bridge';
  switch (code) {
    case 'not_in_channel':
      return `${who} is not a member of the channel.`;
    case 'missing_scope':
      return asPuppet
        ? 'your Slack login lacks the permission; log in again (`login`) to grant it.'
        : 'the Slack app lacks the permission (channels:manage, groups:write); the bridge admin must add it and reinstall the app.';
    case 'not_authorized':
      return `Slack lets only the channel's creator or a workspace admin rename it, and ${who} is neither.`;
    case 'restricted_action':
      return `the Slack workspace does not let ${who} do that.`;
    case 'user_is_restricted':
      return 'Slack does not let guest accounts do that.';
    case 'name_taken':
      return 'another Slack channel already has that name.';
    case 'is_archived':
      return 'the channel is archived.';
    case 'too_long':
      return what === 'topic' ? 'Slack topics are at most 250 characters.' : 'the name is too long for Slack.';
    default:
      if (code?.startsWith('invalid_name')) return `Slack does not accept the name (${code}).`;
      return `Slack refused it (${code ?? 'error'}).`;
  }
}
