/**
 * Events in rooms that are not portals: invites to the bot (a new admin room),
 * invites to a ghost (a Matrix user starting a DM with a remote user), commands
 * typed in admin rooms, and owners leaving their admin rooms.
 */
import type { BridgeConnector } from '../connector/connector';
import { supports } from '../connector/capabilities';
import { BridgeError } from '../connector/errors';
import { MatrixError } from '../util/matrix-error';
import type { AdminRooms } from '../commands/admin-rooms';
import { isDirectInviteToBot } from '../commands/admin-rooms';
import type { CommandRouter } from '../commands/command-router';
import type { PermissionChecker } from '../commands/permissions';
import type { Logger } from '../logging/logger';
import type { Intent } from '../matrix/intent';
import type { GhostManager } from '../portals/ghost-manager';
import type { PortalManager } from '../portals/portal-manager';
import type { MatrixEvent } from '../matrix/event';

export interface NonPortalDeps {
  connector: BridgeConnector;
  bot: Intent;
  ghosts: GhostManager;
  portals: PortalManager;
  adminRooms: AdminRooms;
  commands: CommandRouter;
  permissions: PermissionChecker;
  log: Logger;
}

const str = (v: unknown): v is string => typeof v === 'string';

export class NonPortalHandler {
  constructor(private readonly deps: NonPortalDeps) {}

  /** `delivery.carriesSecret` is set for a command with a secret argument, so the journal drops it once handled. */
  async handle(event: MatrixEvent, delivery: { carriesSecret?: boolean } = {}): Promise<boolean> {
    const roomId = event.room_id as string;
    const sender = event.sender as string;
    const content = event.content ?? {};
    if (event.type === 'm.room.member' && str(event.state_key)) {
      return this.membership(roomId, sender, event.state_key, content, event);
    }
    if (event.type === 'm.room.message' && !this.deps.ghosts.isBridgeUser(sender) && (await this.deps.adminRooms.isAdminRoom(roomId))) {
      const owner = await this.deps.adminRooms.ownerOf(roomId);
      // Only the room's owner commands the bot there; others in the room are ignored.
      if (owner !== sender || !str(content.body) || content.msgtype !== 'm.text') return false;
      await this.deps.commands.handle({
        sender,
        roomId,
        body: content.body,
        isAdmin: this.deps.permissions.isAdmin(sender),
        onSecret: () => {
          delivery.carriesSecret = true;
        },
        reply: (text, html) =>
          this.deps.bot
            .sendEvent(
              roomId,
              'm.room.message',
              html
                ? { msgtype: 'm.notice', body: text, format: 'org.matrix.custom.html', formatted_body: html }
                : { msgtype: 'm.notice', body: text },
            )
            .then(() => undefined),
      });
      if (delivery.carriesSecret && str(event.event_id)) await this.removeSecret(roomId, event.event_id);
      return true;
    }
    return false;
  }

  /**
   * A command that carried a secret (a password, a token) stays readable in the room's history
   * on the homeserver: the bot redacts it once handled, or, where it may not redact others'
   * messages, asks the owner to. Either way the command has run; a failure here is not retried.
   */
  private async removeSecret(roomId: string, eventId: string): Promise<void> {
    try {
      await this.deps.bot.redact(roomId, eventId, 'This message contained a secret.');
      return;
    } catch (err) {
      this.deps.log.info('could not redact a command that carried a secret', { roomId, eventId, err: String(err) });
    }
    await this.deps.bot
      .sendEvent(roomId, 'm.room.message', {
        msgtype: 'm.notice',
        body: 'Your message contained a secret and I may not remove it from this room: please delete it yourself.',
      })
      .catch((err: unknown) => this.deps.log.warn('could not ask to delete a command that carried a secret', { roomId, err: String(err) }));
  }

  private async membership(
    roomId: string,
    sender: string,
    target: string,
    content: Record<string, unknown>,
    event: MatrixEvent,
  ): Promise<boolean> {
    const membership = content.membership;
    const bot = this.deps.bot;
    if (membership === 'invite' && target === bot.userId) {
      if (!this.deps.permissions.mayUseBridge(sender)) {
        this.deps.log.info('invite from a user not allowed to use the bridge declined', { roomId, sender });
        await bot.leave(roomId, 'You are not allowed to use this bridge.').catch(() => undefined);
        return true;
      }
      try {
        await bot.ensureJoined(roomId);
      } catch (err) {
        // The invite cannot be accepted any more (room gone, invite withdrawn, banned): final, not retried.
        if (err instanceof MatrixError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          this.deps.log.warn('could not accept an invite to a room', {
            roomId,
            sender,
            status: err.status,
            errcode: err.errcode,
            error: err.message,
          });
          return true;
        }
        throw err;
      }
      if (isDirectInviteToBot(event as never, bot.userId)) {
        await this.deps.adminRooms.remember(sender, roomId);
        await bot.sendEvent(roomId, 'm.room.message', {
          msgtype: 'm.notice',
          body: `This is your admin room for the ${this.deps.connector.protocol.displayName} bridge. Send !help for commands.`,
        });
      }
      return true;
    }
    if (membership === 'invite' && this.deps.ghosts.isBridgeUser(target) && target !== bot.userId && content.is_direct === true) {
      return this.directChat(roomId, sender, target);
    }
    if (membership === 'leave' || membership === 'ban') {
      await this.deps.adminRooms.onMembership(roomId, target, membership);
    }
    return false;
  }

  private async directChat(roomId: string, sender: string, ghostUserId: string): Promise<boolean> {
    const connector = this.deps.connector;
    const key = await this.deps.ghosts.keyFor(ghostUserId);
    const ghost = key ? await this.deps.ghosts.intent(key).catch(() => undefined) : undefined;
    if (!key || !ghost || !supports(connector, 'directChats') || !this.deps.permissions.mayUseBridge(sender)) {
      await this.refuse(roomId, ghostUserId, 'Direct chats with this user are not supported.');
      return true;
    }
    try {
      const info = await connector.openDirectChat(sender, key);
      await ghost.ensureJoined(roomId);
      await this.deps.portals.adoptDmRoom(roomId, info.key, sender);
    } catch (err) {
      const why = err instanceof BridgeError ? err.userMessage : 'The bridge could not open this chat.';
      if (!(err instanceof BridgeError)) this.deps.log.error('opening a direct chat failed', { roomId, err: String(err) });
      await this.refuse(roomId, ghostUserId, why);
    }
    return true;
  }

  private async refuse(roomId: string, ghostUserId: string, why: string): Promise<void> {
    // Join to say why, then leave: a silent rejection leaves the user guessing.
    const ghost = this.deps.ghosts.isBridgeUser(ghostUserId) ? await this.safeGhost(ghostUserId) : undefined;
    if (!ghost) return;
    try {
      await ghost.ensureJoined(roomId);
      await ghost.sendEvent(roomId, 'm.room.message', { msgtype: 'm.notice', body: why });
      await ghost.leave(roomId);
    } catch (err) {
      this.deps.log.warn('could not decline a direct chat', { roomId, err: String(err) });
    }
  }

  private async safeGhost(userId: string): Promise<Intent | undefined> {
    const key = await this.deps.ghosts.keyFor(userId);
    return key ? this.deps.ghosts.intent(key).catch(() => undefined) : undefined;
  }
}
