// Which token a stored Slack call goes out with. A call made for a puppeted Matrix user uses their
// user token (so it is theirs on Slack, not the bot's); when Slack refuses that token as dead, the
// user is told (Puppets.tokenDead) and the call is made again through the relay, under their name,
// so the message still arrives. Calls that only a user token can make (their DMs) fail with a
// sentence for the user instead. A user who logged out between the Matrix event and the send is
// relayed the same way.
import { BridgeError } from '@causeway/bridge-core';
import type { WebClient } from '@slack/web-api';
import type { CallResult, StoredCall } from '../to-slack/slack-call';
import { isDeadTokenError, slackErrorCode, type Puppets } from './puppets';
import { editKey, reactionKey, type PuppetEchoes } from './puppet-echoes';

/** Makes the call: with `client` as the given user, or (undefined) as the bot. */
export type PerformCall = (client: WebClient | undefined) => Promise<CallResult>;

export async function sendForMatrixUser(
  ws: { puppets: Puppets; puppetEchoes: PuppetEchoes },
  stored: StoredCall,
  perform: PerformCall,
): Promise<CallResult> {
  if (!stored.puppet) return perform(undefined);
  const puppet = ws.puppets.of(stored.puppet);
  if (!puppet) return relayOrRefuse(stored, perform, 'you are not logged in to Slack');
  const { call } = stored;
  let echo: string | undefined;
  if (call.method === 'chat.update') echo = editKey(call.args.channel, call.args.ts);
  if (call.method === 'reactions.add' || call.method === 'reactions.remove')
    echo = reactionKey(call.args.channel, call.args.timestamp, call.args.name, call.method === 'reactions.add');
  if (echo) ws.puppetEchoes.expect(echo);
  try {
    const made = perform(puppet.client);
    const posts = call.method === 'chat.postMessage' || call.method === 'files.upload-external';
    return await (posts ? ws.puppetEchoes.track(String(call.args.channel), puppet.slackUserId, made) : made);
  } catch (err) {
    if (echo) ws.puppetEchoes.cancel(echo);
    if (!isDeadTokenError(err)) throw err;
    await ws.puppets.tokenDead(stored.puppet, `Slack answered ${slackErrorCode(err)}`);
    return relayOrRefuse(stored, perform, 'your Slack login has ended');
  }
}

function relayOrRefuse(stored: StoredCall, perform: PerformCall, why: string): Promise<CallResult> {
  if (stored.puppetOnly)
    throw new BridgeError(`This message could not be sent: ${why}, and only your own Slack account can write in this conversation.`, {
      notify: 'admin-room',
    });
  return perform(undefined);
}

/**
 * What a Matrix user's call carries to be sent as them: their puppet when they have one, and in a
 * DM portal always (only their token can write there; without one the send says so).
 */
export function callerFields(
  ws: { puppets: Puppets },
  matrixUserId: string,
  portal: { kind: string },
): Pick<StoredCall, 'puppet' | 'puppetOnly'> {
  const dm = portal.kind === 'dm';
  if (!dm && !ws.puppets.of(matrixUserId)) return {};
  return { puppet: matrixUserId, ...(dm ? { puppetOnly: true } : {}) };
}
