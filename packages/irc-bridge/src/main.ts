#!/usr/bin/env node
/** `causeway-irc`: the IRC bridge's executable (generate-registration, validate-config, migrate-mai-config, start ...). */
import { runBridge } from '@causeway/bridge-core';
import { IrcConnector } from './connector';
import { bridgeVersion } from './commands/admin-commands';
import { migrateMaiConfigCommand } from './migrate/migrate-command';
import { migrateMaiRoomsCommand } from './migrate/rooms-command';

void runBridge({
  connector: new IrcConnector(),
  configKey: 'irc',
  version: bridgeVersion(),
  commands: [migrateMaiConfigCommand, migrateMaiRoomsCommand],
}).then((code) => {
  if (typeof code === 'number' && code !== 0) process.exitCode = code;
});
