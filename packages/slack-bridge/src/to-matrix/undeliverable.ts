// A Slack message the core gave up on (the homeserver stayed unreachable past
// `matrix_client.max_outage_wait_s`): Slack will not send it again, so its author is told, in the
// channel, with a message only they see (`chat.postEphemeral`). Other events (reactions, edits)
// and posts of other apps are only counted by the core.
import type { RemoteEvent } from '@causeway/bridge-core';
import type { WorkspaceContext } from '../workspace/workspace-context';

const PERSON_RE = /^[UW][A-Z0-9]+$/;

export async function tellUndeliverable(ws: WorkspaceContext, event: RemoteEvent, reason: string): Promise<void> {
  if (event.type !== 'message' || !('ghost' in event.sender)) return;
  const user = event.sender.ghost.id;
  if (!PERSON_RE.test(user)) return;
  const preview = event.content.body.length > 80 ? `${event.content.body.slice(0, 80)}…` : event.content.body;
  try {
    await ws.client.chat.postEphemeral({
      channel: event.portal.id,
      user,
      text: `Your message "${preview}" did not reach Matrix: ${reason}.`,
    });
  } catch (err) {
    ws.ctx.log.warn('could not tell a Slack user their message was not delivered', { err: String(err) });
  }
}
