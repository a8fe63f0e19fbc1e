/**
 * Gauges read at scrape time from the components that own the numbers, so a
 * gauge can never drift from what it counts (and returns to 0 with it).
 */
import type { BridgeMetrics } from '../metrics';
import { stateCacheStatsFrom } from '../metrics';
import type { DeliveryPipeline } from '../appservice/delivery';
import type { StateCache } from '../state/state-cache';
import type { GhostRepository, MessageRepository } from '../store/store';
import type { PortalManager } from '../portals/portal-manager';

export function attachMetricSources(
  metrics: BridgeMetrics,
  from: {
    delivery: DeliveryPipeline;
    state: StateCache;
    ghosts: GhostRepository;
    messages: MessageRepository;
    portals: PortalManager;
  },
): void {
  metrics.setDeliverySource(() => {
    const st = from.delivery.stats();
    return { queuedEvents: st.unfinished, activeRooms: st.roomsActive };
  });
  metrics.setStateCacheSource(() => stateCacheStatsFrom(from.state.stats()));
  metrics.setGhostSource(() => from.ghosts.count());
  metrics.setMessageMapSource(() => from.messages.count());
  metrics.setPortalSource(async () => {
    const counts: Record<string, number> = { portal: 0, plumbed: 0, dm: 0 };
    for (const p of await from.portals.list()) counts[p.kind] = (counts[p.kind] ?? 0) + 1;
    return counts;
  });
}
