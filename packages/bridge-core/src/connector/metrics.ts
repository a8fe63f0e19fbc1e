/**
 * What a connector reports to Prometheus (`ctx.metrics`). The core's BridgeMetrics implements
 * it: every name gets the `causeway_<protocol>_` prefix and every series the `protocol` label,
 * so a connector cannot collide with the core's series or another bridge's.
 */

/** Label values by label name; a missing label is reported empty. */
export type MetricLabels<L extends string = string> = Partial<Record<L, string | number>>;

export interface ConnectorCounter<L extends string = string> {
  inc(labels: MetricLabels<L>, value?: number): void;
  inc(value?: number): void;
}

export interface ConnectorGauge<L extends string = string> {
  set(labels: MetricLabels<L>, value: number): void;
  set(value: number): void;
  inc(labels: MetricLabels<L>, value?: number): void;
  inc(value?: number): void;
  dec(labels: MetricLabels<L>, value?: number): void;
  dec(value?: number): void;
}

export interface ConnectorHistogram<L extends string = string> {
  observe(labels: MetricLabels<L>, value: number): void;
  observe(value: number): void;
}

export interface ConnectorMetrics {
  /** Remote connections by state (e.g. `{connected: 12, connecting: 1}`); states missing here go to 0. */
  setRemoteConnections(counts: Record<string, number>): void;
  /** How long a message waited in the connector's send queue (flood control, rate limits). */
  observeRemoteSendQueueDelay(delayMs: number): void;
  /**
   * The connector's own metrics. `name` may be given with or without the `causeway_<protocol>_`
   * prefix; asking again for the same name returns the same metric.
   */
  counter<L extends string = string>(name: string, help: string, labels?: readonly L[]): ConnectorCounter<L>;
  gauge<L extends string = string>(name: string, help: string, labels?: readonly L[]): ConnectorGauge<L>;
  histogram<L extends string = string>(name: string, help: string, labels?: readonly L[], buckets?: number[]): ConnectorHistogram<L>;
}
