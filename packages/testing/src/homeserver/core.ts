// The emulator's internal surface as seen by the route modules: the stores and
// services a handler may use. Kept as an interface so route files do not depend on
// the HTTP server class.
import type { AppserviceRegistry } from './appservices';
import type { AsQueries } from './as-queries';
import type { Ephemeral } from './ephemeral';
import type { MediaStore } from './media';
import type { Outbound } from './outbound';
import type { EmulatorProfile } from './profile';
import type { Pusher } from './pusher';
import type { RateLimitConfig } from './ratelimit';
import type { RegistrationLike } from './appservices';
import type { ResolvedConfig } from './config';
import type { RoomStore } from './rooms';
import type { UserStore } from './users';

export interface EmulatorOptions {
  /** Default 'localhost'. */
  serverName?: string;
  registrations?: RegistrationLike[];
  /** First push retry delay (doubles each failure). Default 50 ms. */
  pushRetryBaseMs?: number;
  /** Cap for the push retry delay. Default 2000 ms. */
  pushRetryMaxMs?: number;
  /** Per-attempt push timeout. Default 5000 ms. */
  pushTimeoutMs?: number;
  /** Events per transaction (Synapse uses 100). Default 50. */
  maxEventsPerTxn?: number;
  /** Also send hs_token as `?access_token=` on pushes and queries. Default false. */
  pushTokenInQuery?: boolean;
  /** Fall back to the legacy unprefixed AS paths on 404/405/501. Default true. */
  legacyPushFallback?: boolean;
  /** Timeout per user/alias/third-party query attempt. Default 3000 ms. */
  queryTimeoutMs?: number;
  /** Extra attempts after a query times out or cannot connect. Default 2. */
  queryRetries?: number;
  /** Ping timeout. Default = pushTimeoutMs. */
  pingTimeoutMs?: number;
  /** Upload size limit (m.upload.size). Default 10 MiB. */
  maxUploadBytes?: number;
  /** Freeze the legacy unauthenticated media download routes (spec v1.11). Default true. */
  legacyMediaFrozen?: boolean;
  /** Per-user rate limiting; disabled by default. */
  rateLimit?: Partial<RateLimitConfig>;
  /** Behave like an older homeserver release (see profile.ts). Default 'current'. */
  profile?: EmulatorProfile;
}

export interface Core {
  readonly serverName: string;
  readonly config: ResolvedConfig;
  readonly users: UserStore;
  readonly rooms: RoomStore;
  readonly appservices: AppserviceRegistry;
  readonly pusher: Pusher;
  readonly outbound: Outbound;
  readonly media: MediaStore;
  readonly queries: AsQueries;
  readonly ephemeral: Ephemeral;
  /** Transaction-ID idempotency: scope key -> cached response body. */
  readonly txns: Map<string, unknown>;
}
