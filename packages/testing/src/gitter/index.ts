// Gitter emulator for bridge specs: the v1 REST API and the HTTP streaming API (see README.md).
// Every export carries "Gitter" in its name, so the package index can re-export it next to
// other emulators.
export {
  GitterEmulator,
  type GitterEmulatorOptions,
  type CreateRoomOptions as GitterCreateRoomOptions,
  type SeedOptions as GitterSeedOptions,
} from './emulator';
export { GitterTestUser, TEST_CLIENT_HEADER as GITTER_TEST_CLIENT_HEADER, type PostOptions as GitterPostOptions } from './test-user';
export { GitterApiError, RATE_LIMIT_ERROR as GITTER_RATE_LIMIT_ERROR, EDIT_WINDOW_ERROR as GITTER_EDIT_WINDOW_ERROR } from './errors';
export { MAX_TEXT_LENGTH as GITTER_MAX_TEXT_LENGTH, type GitterFeatures } from './model';
export type { RateLimitConfig as GitterRateLimitConfig } from './rate-limiter';
export type { StreamFilter as GitterStreamFilter, StreamServerOptions as GitterStreamOptions } from './stream-server';
export type {
  GitterUserJson,
  GitterRoomJson,
  GitterMessageJson,
  VirtualUser as GitterVirtualUser,
  StreamRecord as GitterStreamRecord,
} from './shapes';
export { idTime as gitterIdTime } from './ids';
