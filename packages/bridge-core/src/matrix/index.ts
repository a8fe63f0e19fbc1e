export {
  MatrixHttpClient, MatrixTokenError, MatrixConnectionError, retryModeFor, parseRetryAfter, endpointLabel,
} from './http-client';
export type { MatrixHttpClientOptions, RequestOptions, RawResponse, RequestMetricInfo, QueryValue } from './http-client';
export { txnId, txnIdForKey, uniqueTxnId } from './txn-id';
export { Intent, isNotInRoomError } from './intent';
export type { IntentContext, SendOptions, JoinOptions, CreateRoomOptions, Profile, WhoAmI, ClientEvent } from './intent';
export { IntentFactory } from './intent-factory';
export type { IntentFactoryOptions } from './intent-factory';
export { MediaClient, parseMxc } from './media';
export type { MediaClientOptions, UploadOptions, DownloadOptions, DownloadedMedia } from './media';
export { MatrixError } from '../util/matrix-error';
