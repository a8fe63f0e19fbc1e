#!/usr/bin/env node
/** `causeway-slack`: the Slack bridge's executable (generate-registration, validate-config, start ...). */
import { runBridge } from '@causeway/bridge-core';
import { SlackConnector } from './connector';

void runBridge({ connector: new SlackConnector(), configKey: 'slack' }).then((code) => {
  if (typeof code === 'number' && code !== 0) process.exitCode = code;
});
