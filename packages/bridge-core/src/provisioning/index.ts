/** Authenticated provisioning API: link/unlink rooms from widgets, integration managers and scripts. */
export {
  ProvisioningApi, Reply, DEFAULT_PROVISIONING_PREFIX, MIN_SECRET_LENGTH,
  type ProvisioningOptions, type RouteDefinition, type PublicRouteDefinition, type ProvisioningRequest,
  type PublicRequest, type RoomPowerChecker, type HttpMethod,
} from './api';
export { addLinkRoutes, type LinkHooks } from './link-routes';
export { OpenIdVerifier, OpenIdError, type OpenIdVerifierOptions, type OpenIdFailure, type BaseUrlResolver } from './openid';
export { SessionStore, SESSION_NAMESPACE, hashSessionToken, type Session, type SessionRecord } from './sessions';
export { RateLimiter, type RateLimiterOptions, type RateLimitDecision } from './rate-limiter';
export { isForbiddenAddress, isInAllowList, guardedLookup, parseAllowList, ForbiddenAddressError, type AllowList } from './ssrf-guard';
export { isValidUserId, isValidRoomId, parseServerName, type JsonSchema } from './validation';
export { provisioningOptionsFromConfig } from './from-config';
