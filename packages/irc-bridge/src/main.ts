#!/usr/bin/env node
/** `causeway-irc`: the IRC bridge's executable (generate-registration, validate-config, start ...). */
import { runBridge } from '@causeway/bridge-core';
import { IrcConnector } from './connector';
import { bridgeVersion } from './commands/admin-commands';

void runBridge({ connector: new IrcConnector(), configKey: 'irc', version: bridgeVersion() }).then((code) => {
  if (typeof code === 'number' && code !== 0) process.exitCode = code;
});
