// Slack events that concern puppets: `tokens_revoked` (the users whose tokens Slack revoked: told
// and relayed from then on), and the puppets' own activity coming back (the bridge's posts, edits
// and reactions made with their tokens), which is dropped before it could reach Matrix again.
import type { SlackEvent } from '../slack';
import type { EchoFilter } from '../to-matrix/echo-filter';
import type { Puppets } from './puppets';
import { editKey, reactionKey, type PuppetEchoes } from './puppet-echoes';

/** Handles `tokens_revoked` in a raw Events API payload (the event parser does not model it). */
export async function handlePuppetPayload(ws: { puppets: Puppets }, body: unknown): Promise<void> {
  const ev = (body as { event?: { type?: unknown; tokens?: { oauth?: unknown } } } | undefined)?.event;
  if (ev?.type !== 'tokens_revoked') return;
  const oauth = Array.isArray(ev.tokens?.oauth) ? ev.tokens.oauth.filter((u): u is string => typeof u === 'string') : [];
  await ws.puppets.onTokensRevoked(oauth);
}

/** Whether a Slack event is the bridge's own call made with a puppet's token. */
export async function isPuppetEcho(
  ws: { puppets: Puppets; puppetEchoes: PuppetEchoes; echoes: EchoFilter },
  ev: SlackEvent,
): Promise<boolean> {
  switch (ev.kind) {
    case 'message': {
      const user = ev.author.userId;
      if (!user || !ws.puppets.matrixUserOf(user)) return false;
      await ws.puppetEchoes.settled(ev.channel, user);
      return ws.echoes.wasPosted(ev.channel, ev.ts);
    }
    case 'message_changed':
      return !!ws.puppets.matrixUserOf(ev.author.userId) && ws.puppetEchoes.take(editKey(ev.channel, ev.targetTs));
    case 'reaction':
      return (
        !!ws.puppets.matrixUserOf(ev.userId) && ws.puppetEchoes.take(reactionKey(ev.channel, ev.targetTs, ev.name, ev.action === 'added'))
      );
    default:
      return false;
  }
}
