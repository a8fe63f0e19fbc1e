/**
 * Wraps the delivery pipeline to count transactions for metrics: processed
 * (journaled and acknowledged, with the time it took) and duplicates (a
 * retried transaction, same txnId and events, answered without reprocessing).
 */
import type { TransactionSink } from '../appservice/transaction';
import type { BridgeMetrics } from '../metrics';

export function instrumentSink(sink: TransactionSink, metrics: BridgeMetrics): TransactionSink {
  return {
    knows: (txnId) => sink.knows(txnId),
    retry(txnId, body) {
      const r = sink.retry(txnId, body);
      if (r !== undefined) metrics.onTransaction({ outcome: 'duplicate' });
      return r;
    },
    admit: () => sink.admit(),
    async accept(txnId, body, raw) {
      const started = Date.now();
      try {
        await sink.accept(txnId, body, raw);
        metrics.onTransaction({ outcome: 'processed', durationMs: Date.now() - started });
      } catch (err) {
        metrics.onTransaction({ outcome: 'rejected' });
        throw err;
      }
    },
  };
}
