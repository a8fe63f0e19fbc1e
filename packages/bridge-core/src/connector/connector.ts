/**
 * The connector contract: everything a protocol package implements to become a
 * bridge. Read this file top to bottom and you know what a bridge must do.
 *
 * The core owns the Matrix side (transactions, intents, portals, ghosts, the
 * message map, admin rooms, provisioning auth, metrics). A connector owns only
 * its network. It never talks to the homeserver: it receives Matrix activity
 * through the handlers below and reports remote activity through
 * `BridgeContext.remote`.
 *
 * Optional features are separate small interfaces in `capabilities.ts`; the core
 * checks for them at run time (`supports(connector, 'edits')`).
 */
import type { TSchema } from '@sinclair/typebox';
import type { MatrixMessage } from './matrix-events';
import type { BridgeContext } from './context';

export interface ProtocolInfo {
  /** Short ID: "irc", "slack", "gitter". Used in metrics labels, the third-party protocol and the registration. */
  id: string;
  displayName: string;
  /** Default templates for ghost user IDs and portal aliases; `$ID` is the escaped remote ID, `$NETWORK` the network. */
  defaults: {
    botLocalpart: string;
    ghostLocalpartTemplate: string;
    aliasLocalpartTemplate?: string;
  };
  /** Whether the registration should ask for typing and receipts. */
  wantsEphemeral?: boolean;
  /**
   * Room state types the connector reads with `ctx.portals.roomState` (e.g. per-room settings
   * that room moderators set as a state event). The core caches them with the rest of the room's
   * state and keeps them current from transactions.
   */
  stateEventTypes?: readonly string[];
}

/** What a Matrix→remote handler returns: the remote IDs of what it sent, for the message map. */
export interface SendResult {
  /** One per remote message the Matrix event became (split lines → several); empty if the network has no IDs. */
  remoteIds: string[];
}

export interface BridgeConnector<Config = unknown> {
  readonly protocol: ProtocolInfo;
  /** JSON Schema (TypeBox) of the connector's section of the config file; validated with the core's. */
  readonly configSchema: TSchema;

  /**
   * The names of the networks `config` defines (what `$NETWORK` stands for in templates), for
   * connectors that bridge several. With exactly one, ghost and alias templates may leave out
   * `$NETWORK` (they then name that network); with several, such a template is a config error.
   * Called before `init`, also by `validate-config`.
   */
  networkNames?(config: Config): readonly string[];

  /** Called once before start with everything the core offers. Register commands and provisioning routes here. */
  init(ctx: BridgeContext<Config>): Promise<void> | void;
  /** Connect to the network. The appservice listener is already answering. */
  start(): Promise<void>;
  /** Disconnect cleanly; pending sends should be flushed or handed back as failed. */
  stop(): Promise<void>;

  /**
   * A message in a portal. Throw a `BridgeError` to have the core tell the sender
   * why it was not delivered; anything else thrown is logged and reported generically.
   */
  handleMatrixMessage(msg: MatrixMessage): Promise<SendResult>;
}
