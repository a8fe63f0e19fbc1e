/**
 * Fetching a URL that a remote network or one of its users chose (an avatar, a custom emoji, an
 * attachment, an upload URL): the contract half of `MediaService.fetchRemote`. Such a URL may
 * point anywhere, 127.0.0.1, the cloud metadata address 169.254.169.254 or a host on the
 * operator's LAN included, and the bridge may hand what it fetched back to the remote side (an
 * avatar uploaded to Matrix), so the core fetches it only from globally routable addresses unless
 * the operator allow-listed a range (`remote_fetch.allowed_private_ips`). The implementation is
 * net/remote-fetcher.ts.
 */

export interface RemoteFetchOptions {
  /** Largest response body accepted, bytes: more fails with reason `too_large`. */
  maxBytes: number;
  /** Default GET. A redirect answered with 303 (or 301/302 to a POST) continues as a GET without the body. */
  method?: 'GET' | 'POST';
  headers?: Readonly<Record<string, string>>;
  body?: Buffer;
  /** The whole exchange, every redirect included, ms. Default 30 s. */
  timeoutMs?: number;
  /** Redirects followed, each hop checked like the first URL; 0 = a 3xx fails with reason `redirect`. Default 5. */
  maxRedirects?: number;
  /**
   * An extra check of every URL requested (the first and each redirect target), e.g. "only the
   * workspace's own file host": false fails with reason `bad_url` before anything is sent.
   */
  allowUrl?(url: URL): boolean;
}

export interface RemoteResponse {
  /** The final answer's status (never a 3xx: those are followed or refused). */
  status: number;
  /** Its media type without parameters (`image/png`), when it named one. */
  mimetype?: string;
  data: Buffer;
  /** The URL that answered (after redirects). */
  url: string;
}

export type RemoteFetchFailure =
  /** Not an http(s) URL, carries credentials, or refused by `allowUrl`. */
  | 'bad_url'
  /** The host is (or resolves only to) a private, loopback, link-local or other special-purpose address. */
  | 'forbidden_address'
  /** A redirect when none may be followed, or more than `maxRedirects`. */
  | 'redirect'
  | 'too_large'
  | 'timeout'
  /** DNS failure, connection refused or reset, TLS error. */
  | 'network';

/** Why a remote URL was not fetched. The message never carries request headers (tokens). */
export class RemoteFetchError extends Error {
  constructor(
    readonly reason: RemoteFetchFailure,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteFetchError';
  }
}
