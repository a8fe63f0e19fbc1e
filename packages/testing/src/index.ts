/**
 * @causeway/testing — what every bridge's specs run against: the homeserver emulator (the real
 * client-server and appservice HTTP APIs over loopback, with Synapse's quirks and failures), an
 * InspIRCd launcher, and small helpers. Nothing here imports bridge-core, so a core unit spec can
 * use it next to the core's source; a bridge under test comes from `@causeway/testing/bridge`.
 */
export * from './homeserver';
export { grantPower, roomWithBot } from './homeserver/prepared-rooms';
export * from './inspircd';
export { connectObserver, type Observer } from './inspircd/observer';
export * from './inspircd/services';
export { freePort } from './ports';
export { httpCall, type Reply as HttpReply } from './http';
export { eventually } from './eventually';
export { preciseNow, preciseSleepUntil } from './precise-timer';
export * from './gitter';
export * from './slack';
export { FakeIrcd } from './fake-ircd';
export { RawConnection, requestBytes, type RawResponse } from './raw-http';
export { storedInQueue } from './queue-log';
