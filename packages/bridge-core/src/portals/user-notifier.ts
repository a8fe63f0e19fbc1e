/**
 * Telling Matrix users things: privately in their admin room with the bot
 * (created on demand and remembered), or publicly in a bridged room.
 */
import type { UserNotifier } from '../connector/context';
import type { AdminRooms } from '../commands/admin-rooms';
import type { Intent } from '../matrix/intent';
import { SingleFlight } from '../util/single-flight';

function notice(text: string, html?: string): Record<string, unknown> {
  return html
    ? { msgtype: 'm.notice', body: text, format: 'org.matrix.custom.html', formatted_body: html }
    : { msgtype: 'm.notice', body: text };
}

export class BotNotifier implements UserNotifier {
  private readonly opening = new SingleFlight<string, string>();

  constructor(
    private readonly bot: Intent,
    private readonly adminRooms: AdminRooms,
  ) {}

  async notice(userId: string, text: string, html?: string): Promise<void> {
    const roomId = await this.adminRoom(userId);
    await this.bot.sendEvent(roomId, 'm.room.message', notice(text, html));
  }

  async roomNotice(roomId: string, text: string, html?: string): Promise<void> {
    await this.bot.sendEvent(roomId, 'm.room.message', notice(text, html));
  }

  /** The user's admin room, created (bot invites the user to a DM) if they have none. */
  async adminRoom(userId: string): Promise<string> {
    const existing = await this.adminRooms.adminRoomFor(userId);
    if (existing) return existing;
    return this.opening.run(userId, async () => {
      const roomId = await this.bot.createRoom({ invite: [userId], is_direct: true, preset: 'trusted_private_chat' });
      await this.adminRooms.remember(userId, roomId);
      return roomId;
    });
  }
}
