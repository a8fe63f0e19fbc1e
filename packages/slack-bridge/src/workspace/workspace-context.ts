// What the two flows (to-matrix/, to-slack/) need of a workspace: its config and context, who the
// bridge is there, its clients and caches, and how remote IDs are made. SlackWorkspace implements
// it; the flows import this interface rather than the class that builds them (no import cycle).
import type { WebClient } from '@slack/web-api';
import type { BridgeContext, GhostKey, PortalKey } from '@causeway/bridge-core';
import type { SlackConfig, WorkspaceConfig } from '../config-schema';
import type { SlackIdentity } from './identity';
import type { SlackUsers } from './users';
import type { CustomEmoji } from './custom-emoji';
import type { ThreadRoots } from './thread-roots';
import type { EchoFilter } from '../to-matrix/echo-filter';
import type { Puppets } from '../puppets/puppets';
import type { PuppetEchoes } from '../puppets/puppet-echoes';
import type { DirectMessages } from '../puppets/direct-messages';
import type { SlackMetrics } from '../metrics/slack-metrics';

export interface WorkspaceContext {
  readonly name: string;
  readonly cfg: WorkspaceConfig;
  readonly ctx: BridgeContext<SlackConfig>;
  readonly connectorConfig: SlackConfig;
  /** Every workspace name, for alias parsing. */
  readonly allNames: () => readonly string[];
  /** Who the bridge is in the workspace (known once started). */
  readonly identity: SlackIdentity;
  /** Web API client for lookups (a few quick retries). */
  readonly client: WebClient;
  readonly users: SlackUsers;
  readonly emoji: CustomEmoji;
  readonly echoes: EchoFilter;
  readonly threads: ThreadRoots;
  portalKey(channel: string): PortalKey;
  ghostKey(userId: string): GhostKey;
  /** The message-map ID of a Slack message. */
  messageId(channel: string, ts: string): string;
  /** Matrix users logged in with their own Slack account, and their calls' echoes (puppets/). */
  readonly puppets: Puppets;
  readonly puppetEchoes: PuppetEchoes;
  /** Puppets' DMs and group DMs (puppets/direct-messages). */
  readonly dms: DirectMessages;
  readonly metrics: SlackMetrics;
}
