/**
 * The IRC bridge under test: a real InspIRCd, the homeserver emulator and the
 * real Bridge with the IrcConnector, plus helpers to read what a Matrix user
 * and an IRC user (observer) would see.
 */
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { IrcConnector } from '@causeway/irc-bridge';
import type { IrcConfig } from '@causeway/irc-bridge';
import type { InspircdHandle } from '@causeway/testing';
import type { HomeserverEmulator } from '@causeway/testing';

export const NET = 'testnet';
export const BOT = '@ircbridge:localhost';

export interface IrcBridge {
  fx: BridgeFixture<IrcConfig>;
  connector(): IrcConnector;
}

export async function startIrcBridge(
  ircd: Pick<InspircdHandle, 'host' | 'port'>,
  server: Record<string, unknown> = {},
  opts: { core?: Record<string, unknown>; irc?: Record<string, unknown>; hs?: HomeserverEmulator } = {},
): Promise<IrcBridge> {
  let connector!: IrcConnector;
  const fx = await startBridgeFixture<IrcConfig>({
    connector: () => (connector = new IrcConnector()),
    configKey: 'irc',
    core: opts.core,
    hs: opts.hs,
    connectorConfig: {
      servers: {
        [NET]: {
          address: ircd.host,
          port: ircd.port,
          bot: { nick: 'CwBot' },
          ...server,
          clients: {
            flood_lines_per_second: 50,
            connect_rate_per_second: 20,
            line_limit: 3,
            ...((server.clients as object | undefined) ?? {}),
          },
        },
      },
      data_dir: mkdtempSync(path.join(tmpdir(), 'causeway-irc-data-')),
      ...opts.irc,
    },
  });
  return { fx, connector: () => connector };
}

export const alias = (channel: string) => `#irc_${NET}_${channel}:localhost`;
export const ghostId = (nick: string) => `@irc_${NET}_${nick.toLowerCase()}:localhost`;

/** Bodies of the bot's private notices to a user (in their admin room). */
export function noticesTo(hs: HomeserverEmulator, userId: string): string[] {
  const out: string[] = [];
  for (const roomId of hs.rooms.allRoomIds()) {
    const room = hs.rooms.get(roomId)!;
    if (!room.members.has(userId) || room.members.size > 2) continue;
    for (const e of hs.roomTimeline(roomId)) {
      if (e.sender === BOT && e.type === 'm.room.message' && e.content?.msgtype === 'm.notice') out.push(String(e.content.body));
    }
  }
  return out;
}

/** Bot replies in a user's admin room (after the command). */
export function botMessages(hs: HomeserverEmulator, roomId: string): string[] {
  return hs
    .roomTimeline(roomId)
    .filter((e) => e.sender === BOT && e.type === 'm.room.message')
    .map((e) => String(e.content.body));
}

export function messages(hs: HomeserverEmulator, roomId: string, sender?: string) {
  return hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message' && (!sender || e.sender === sender));
}

export { eventually };
