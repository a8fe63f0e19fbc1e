// Ghosts on demand: when the homeserver asks whether a user in the bridge's namespace exists (a
// Matrix user inviting a Slack user they have never seen bridged, or a ghost invited into a group
// DM before it spoke), the localpart is parsed back to a workspace and a Slack user ID, and Slack
// is asked (`users.info`) whether that user exists. Bots and deleted users are not offered.
import type { GhostKey } from '@causeway/bridge-core';
import type { SlackWorkspaces } from '../workspace/registry';

const USER_ID = /^[UW][A-Z0-9]{2,20}$/;

export async function resolveSlackGhost(c: SlackWorkspaces, localpart: string): Promise<{ key: GhostKey; displayName?: string } | null> {
  const parsed = c.ctx.ghosts.parseLocalpart(localpart, Object.keys(c.ctx.config.workspaces));
  const ws = parsed?.network && c.has(parsed.network) ? c.workspace(parsed.network) : undefined;
  if (!parsed || !ws || !USER_ID.test(parsed.id)) return null;
  let user: { deleted?: boolean; is_bot?: boolean } | undefined;
  try {
    user = (await ws.client.users.info({ user: parsed.id })).user;
  } catch {
    return null; // user_not_found, or Slack cannot say: the homeserver is told there is nobody
  }
  if (!user || user.deleted || user.is_bot) return null;
  const profile = await ws.users.get(parsed.id);
  return { key: ws.ghostKey(parsed.id), displayName: profile.displayName };
}
