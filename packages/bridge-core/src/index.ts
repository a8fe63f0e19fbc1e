/**
 * @causeway/bridge-core — the Matrix side of a bridge. This entry point is the connector
 * contract: what a protocol package compiles against (everything under `connector/`), plus
 * `runBridge` to start one. Tools that run or inspect a bridge outside `runBridge` (migrations,
 * test harnesses) use `@causeway/bridge-core/tools`. Nothing else is public: a connector that
 * needs an internal is a sign the contract lacks something.
 */

// The connector contract (connector/ imports nothing else of the core but util/ and logging/)
export * from './connector/connector';
export * from './connector/capabilities';
export * from './connector/context';
export * from './connector/content';
export * from './connector/errors';
export * from './connector/ids';
export * from './connector/matrix-events';
export * from './connector/remote-events';
export * from './connector/room-mirror';
export * from './connector/portal';
export * from './connector/bridging-status';
export * from './connector/commands';
export * from './connector/routes';
export * from './connector/key-value';
export * from './connector/metrics';
export * from './connector/config-schema';
export * from './connector/cli-command';
export * from './connector/secrets';
export * from './connector/outbox';
export * from './connector/remote-fetch';

// Starting a bridge
export { runBridge, type RunBridgeOptions } from './runtime/run-bridge';

// Small utilities connectors share with the core
export { MatrixError } from './util/matrix-error';
export { backoffDelay, sleep, DEFAULT_BACKOFF, type BackoffPolicy } from './util/backoff';
export { secureCompare } from './util/secure-compare';
export { LruMap } from './util/lru';
export {
  HttpPool,
  HttpPools,
  HttpTimeoutError,
  type HttpAnswer,
  type HttpStreamAnswer,
  type HttpRequest,
  type HttpPoolOptions,
} from './util/http-pool';
export { escapeHtml, sanitizeMatrixHtml } from './messages/matrix-html';
// Matrix HTML (`formatted_body`) as a typed tree, for connectors to render their network's markup from
export { parseMatrixHtml, HTML_NESTING_LIMIT } from './messages/html-parse';
export { parseMatrixPermalink } from './messages/permalink';
export {
  htmlText,
  isHtmlBlock,
  type HtmlBlock,
  type HtmlInline,
  type HtmlNode,
  type HtmlParent,
  type HtmlStyle,
  type MatrixPermalink,
} from './messages/html-tree';
export type { Logger, LogLevel } from './logging/logger';
