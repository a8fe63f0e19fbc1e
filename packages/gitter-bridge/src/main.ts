#!/usr/bin/env node
/** `causeway-gitter`: the Gitter bridge's executable (generate-registration, validate-config, start ...). */
import { runBridge } from '@causeway/bridge-core';
import { GitterConnector } from './connector';

void runBridge({ connector: new GitterConnector(), configKey: 'gitter' }).then((code) => {
  if (typeof code === 'number' && code !== 0) process.exitCode = code;
});
