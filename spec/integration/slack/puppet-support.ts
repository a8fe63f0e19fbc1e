/**
 * Puppet logins for specs: a bridge with puppeting configured (the emulator app's client ID and
 * secret), an admin room per Matrix user, and the whole OAuth v2 flow (`login`, the Slack user
 * approving, the browser coming back to the bridge's redirect route).
 */
import { strict as assert } from 'node:assert';
import type { SlackUser, TestUser } from '@causeway/testing';
import { startSlackBridge, eventually, BOT, type SlackBridge, type Transport } from './support';

const REDIRECT = 'https://bridge.example.org/slack/oauth';

export async function startPuppetBridge(
  transport: Transport,
  opts: Parameters<typeof startSlackBridge>[1] & { extraWorkspace?: Record<string, unknown> } = {},
): Promise<SlackBridge> {
  return startSlackBridge(transport, {
    emulator: { rateLimits: false },
    ...opts,
    workspace: (app) => ({
      puppeting: { client_id: app.clientId, client_secret: app.clientSecret, redirect_url: REDIRECT },
      ...opts.extraWorkspace,
    }),
  });
}

export function botMessages(b: SlackBridge, room: string): string[] {
  return b.fx.hs
    .roomTimeline(room)
    .filter((e) => e.sender === BOT && e.type === 'm.room.message')
    .map((e) => String(e.content.body));
}

export interface AdminRoom {
  roomId: string;
  command(text: string): Promise<string>;
}

export async function adminRoom(b: SlackBridge, user: TestUser): Promise<AdminRoom> {
  const roomId = await user.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
  await eventually(() => b.fx.hs.membership(roomId, BOT) === 'join' && botMessages(b, roomId).length > 0, 'admin room greeting');
  return {
    roomId,
    async command(text) {
      const before = botMessages(b, roomId).length;
      await user.sendMessage(roomId, text);
      return eventually(() => botMessages(b, roomId)[before], `reply to ${text}`, 20_000);
    },
  };
}

/** `login` for `admin`'s user, approved on Slack by `slackUser`. */
export async function puppetLogin(b: SlackBridge, admin: AdminRoom, slackUser: SlackUser): Promise<void> {
  const url = new URL(/https?:\/\/\S+/.exec(await admin.command('!login'))![0]);
  const code = b.slack.issueOAuthCode(b.app, slackUser, {
    userScopes: url.searchParams.get('user_scope')!.split(','),
    redirectUri: url.searchParams.get('redirect_uri')!,
  });
  const before = botMessages(b, admin.roomId).length;
  const query = new URLSearchParams({ code, state: url.searchParams.get('state')! }).toString();
  const res = await fetch(`${b.fx.asUrl}${new URL(REDIRECT).pathname}?${query}`);
  assert.equal(res.status, 200, await res.text());
  await eventually(
    () =>
      botMessages(b, admin.roomId)
        .slice(before)
        .find((t) => /You are logged in/.test(t)),
    'login notice',
  );
}
