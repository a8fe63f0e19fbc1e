// @causeway/gitter-bridge: a Matrix <-> Gitter bridge on Causeway. So far its Gitter protocol
// layer (REST and streaming clients, send queue, Markdown conversion); the connector follows.
export * as gitter from './gitter';
