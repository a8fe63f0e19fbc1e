// Whether a Slack channel already has a topic or name, asked with the bot's token (the bot is in
// every linked channel; a puppet's token may lack the read scopes): a topic or rename call whose
// answer was lost, or that a crash interrupted, is not made again when it took effect, as Slack
// would post its "set the channel topic" line a second time.
import { unescapeMrkdwn } from '../slack';
import type { WorkspaceContext } from '../workspace/workspace-context';

export async function channelHas(ws: WorkspaceContext, channel: string, field: 'topic' | 'name', value: string): Promise<boolean> {
  const r = await ws.client.apiCall('conversations.info', { channel });
  const c = (r as { channel?: { name?: string; topic?: { value?: string } } }).channel;
  const now = field === 'topic' ? c?.topic?.value : c?.name;
  if (now === undefined || (now !== value && unescapeMrkdwn(now) !== value)) return false;
  ws.ctx.log.info('Slack channel change found made before (lost answer or restart); not made again', { channel, field });
  return true;
}
