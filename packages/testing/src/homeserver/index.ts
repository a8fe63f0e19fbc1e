// Public entry point of the homeserver emulator used by every bridge's integration tests.
export { HomeserverEmulator } from './server';
export type { EmulatorOptions } from './core';
export type { EmulatorProfile } from './profile';
export type { RegistrationLike, NamespaceLike } from './appservices';
export { TestUser, MatrixHttpError, FIXTURE_HEADER } from './test-user';
export { FaultInjector } from './faults';
export type { EndpointMatcher, FaultHandle, FaultKind, FaultOptions, RequestInfo } from './faults';
export type { PushAttempt } from './pusher';
export type { SpecEvent as MatrixEvent, EventContent, EventUnsigned, RelatesTo, MediaInfo, JsonObject } from '../spec-json';
export { asObject, asObjects, asArray, asString, asNumber, at, parseJson } from '../spec-json';
export type { RateLimitConfig } from './ratelimit';
export { normaliseKey } from './router';
