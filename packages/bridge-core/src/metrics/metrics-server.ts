/**
 * The Prometheus scrape endpoint: `GET /metrics` (and HEAD) on its own
 * listener, default 127.0.0.1:9001, optionally protected by a bearer token
 * compared in constant time. Errors are Matrix-style JSON bodies.
 *
 * Without a token it must be loopback-only unless the operator says otherwise:
 * a config binding it elsewhere with neither `bearer_token` nor `public: true`
 * is refused (metricsConfigProblem), so /metrics is never open by accident.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger';
import { getLogger, registerSecret } from '../logging/logger';
import { secureCompare } from '../util/secure-compare';
import { MatrixError } from '../util/matrix-error';
import { sendError } from '../util/http-answer';
import { isLoopbackHost } from '../util/loopback';

export interface MetricsServerOptions {
  /** The registry to expose (`bridgeMetrics.registry`) or anything holding one. */
  registry: Registry | { registry: Registry };
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9001; 0 picks a free port (see `port` after `start()`). */
  port?: number;
  /** If set, scrapes must send `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Default `/metrics`. */
  path?: string;
  logger?: Logger;
}

/** The `metrics` config section (core config schema). */
export interface MetricsConfig {
  enabled: boolean;
  bind_host: string;
  port: number;
  bearer_token?: string;
  /** Serve without a token on a non-loopback address, on purpose. */
  public?: boolean;
}

/**
 * Why a `metrics` section may not be used: enabled on an address other machines can reach,
 * with no bearer token, and not declared public. Undefined when it is fine. Names the keys.
 */
export function metricsConfigProblem(cfg: Partial<MetricsConfig>): string | undefined {
  if (cfg.enabled !== true || cfg.bearer_token || cfg.public === true) return undefined;
  const host = typeof cfg.bind_host === 'string' ? cfg.bind_host : '127.0.0.1';
  if (isLoopbackHost(host)) return undefined;
  return `metrics.bind_host: ${JSON.stringify(host)} is reachable from other machines and metrics.bearer_token is not set, so /metrics would be open to anyone (expected metrics.bearer_token, a loopback metrics.bind_host such as 127.0.0.1, or metrics.public: true to serve it open on purpose)`;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export class MetricsServer {
  private readonly registry: Registry;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly token?: string;
  private readonly path: string;
  private readonly log: Logger;
  private server?: Server;

  constructor(opts: MetricsServerOptions) {
    const r = opts.registry;
    this.registry = typeof (r as Registry).getSingleMetric === 'function' ? (r as Registry) : (r as { registry: Registry }).registry;
    this.host = opts.host ?? '127.0.0.1';
    this.requestedPort = opts.port ?? 9001;
    this.token = opts.bearerToken || undefined;
    this.path = opts.path ?? '/metrics';
    this.log = opts.logger ?? getLogger('metrics.server');
    registerSecret(this.token);
  }

  /** A server for the `metrics` config section, or undefined when metrics are disabled. */
  static fromConfig(cfg: MetricsConfig, registry: MetricsServerOptions['registry'], logger?: Logger): MetricsServer | undefined {
    if (!cfg.enabled) return undefined;
    const problem = metricsConfigProblem(cfg);
    if (problem) throw new Error(problem);
    return new MetricsServer({ registry, host: cfg.bind_host, port: cfg.port, bearerToken: cfg.bearer_token, logger });
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.log.info(`serving metrics on http://${this.hostForUrl()}:${this.port}${this.path}`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The bound port (after start). */
  get port(): number {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    return addr?.port ?? this.requestedPort;
  }

  /** The scrape URL (after start). */
  get url(): string {
    return `http://${this.hostForUrl()}:${this.port}${this.path}`;
  }

  private hostForUrl(): string {
    return this.host.includes(':') ? `[${this.host}]` : this.host;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== this.path) return sendError(req, res, new MatrixError(404, 'M_NOT_FOUND', 'Not found'));
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendError(req, res, new MatrixError(405, 'M_UNRECOGNIZED', 'Method not allowed'), { Allow: 'GET, HEAD' });
      }
      if (this.token !== undefined) {
        const h = req.headers.authorization;
        if (h === undefined || h === '') return sendError(req, res, new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token'));
        const m = BEARER.exec(h);
        if (!m || !secureCompare(m[1], this.token)) return sendError(req, res, new MatrixError(403, 'M_FORBIDDEN', 'Invalid access token'));
      }
      const body = await this.registry.metrics();
      res.writeHead(200, {
        'Content-Type': this.registry.contentType,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.log.error('metrics scrape failed', { error: err instanceof Error ? err.message : String(err) });
      sendError(req, res, new MatrixError(500, 'M_UNKNOWN', 'Could not collect metrics'));
    }
  }
}
