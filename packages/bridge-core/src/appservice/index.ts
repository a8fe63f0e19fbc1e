export * from './transaction';
export * from './http-server';
export * from './transaction-journal';
export * from './room-dispatcher';
export * from './delivery';
export { checkHsToken, bearerToken, type AuthResult } from './auth';
export { DEFAULT_MAX_BODY_BYTES } from './body';
export { Router, type RouteMatch } from './router';
