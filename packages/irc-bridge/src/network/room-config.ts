/**
 * Per-room settings that a room's moderators set themselves (`irc.per_room_config`), as the
 * state event MAI used, `org.matrix.appservice-irc.config` (state key ""), so rooms configured
 * for MAI keep their settings after moving to this bridge:
 * - `lineLimit`: lines a Matrix message may become before it is sent as a link instead (capped
 *   by `per_room_config.line_limit_max`);
 * - `allowUnconnectedMatrixUsers`: the privacy filter lets lines through although some members
 *   are not on IRC (only if `per_room_config.allow_unconnected_matrix_users` permits it).
 * Who may set it is up to the room's power levels (a state event: moderators by default). The
 * content comes from whoever could send it, so every field is checked and junk is ignored.
 */
import type { BridgeContext } from '@causeway/bridge-core';
import type { IrcConfig, ServerConfig } from '../config-schema';

export const ROOM_CONFIG_TYPE = 'org.matrix.appservice-irc.config';

export interface RoomSettings {
  lineLimit: number;
  allowUnconnectedMatrixUsers: boolean;
}

export class RoomConfig {
  constructor(
    private readonly ctx: BridgeContext<IrcConfig>,
    private readonly server: ServerConfig,
  ) {}

  /** The room's effective settings: the network's, with what the room set where allowed. */
  async settings(roomId: string): Promise<RoomSettings> {
    const base = { lineLimit: this.server.clients.line_limit, allowUnconnectedMatrixUsers: false };
    const rules = this.ctx.config.per_room_config;
    if (!rules.enabled) return base;
    const content = await this.ctx.portals.roomState(roomId, ROOM_CONFIG_TYPE).catch(() => undefined);
    if (!content) return base;
    const limit = content.lineLimit;
    return {
      lineLimit: Number.isInteger(limit) && (limit as number) >= 1 ? Math.min(limit as number, rules.line_limit_max) : base.lineLimit,
      allowUnconnectedMatrixUsers: rules.allow_unconnected_matrix_users && content.allowUnconnectedMatrixUsers === true,
    };
  }
}
