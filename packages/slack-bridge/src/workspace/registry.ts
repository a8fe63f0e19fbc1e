// What the commands, provisioning routes and link checks need of the connector: the context and
// the workspaces by name. An interface of its own, so they do not import the connector that
// registers them (no import cycle).
import type { BridgeContext } from '@causeway/bridge-core';
import type { SlackConfig } from '../config-schema';
import type { SlackWorkspace } from './slack-workspace';

export interface SlackWorkspaces {
  readonly ctx: BridgeContext<SlackConfig>;
  /** Whether the config defines a workspace of this name. */
  has(name: string): boolean;
  /** The workspace of this name; a BridgeError naming the known ones when there is none. */
  workspace(name: string): SlackWorkspace;
}
