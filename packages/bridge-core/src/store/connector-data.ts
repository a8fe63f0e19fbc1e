/**
 * A connector's private data (`ctx.data`): the store's key-value repository with every namespace
 * prefixed by the connector's protocol ID, so connectors cannot clash with the core or each
 * other. Exported so a connector's tools (e.g. an importer run before the first start) write
 * where the running connector reads.
 */
import type { KeyValueRepository } from './store';

export function connectorData(kv: KeyValueRepository, protocolId: string): KeyValueRepository {
  const prefix = `connector.${protocolId}`;
  return {
    get: (ns, key) => kv.get(`${prefix}.${ns}`, key),
    put: (ns, key, value, opts) => kv.put(`${prefix}.${ns}`, key, value, opts),
    delete: (ns, key) => kv.delete(`${prefix}.${ns}`, key),
    list: (ns, opts) => kv.list(`${prefix}.${ns}`, opts),
  };
}
