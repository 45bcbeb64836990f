/**
 * pnetwork coreserver: the server side on its own, exported as `pnetwork/coreserver`. The same classes
 * as the root export, for code that only serves.
 * @packageDocumentation
 */
export { Server, type ServerOptions, type DisconnectEvent } from './server.js';
export { Connection } from './connection.js';
export { Bind } from './bind.js';
export type { CommonOptions } from './options.js';
export type { ActionMap, AnyActions, ActionName, DataOf, ReplyOf, HandlerResult, Envelope, TrafficStats, InstanceStats, RequestOptions, Binding } from './types.js';
export type { Adapter, AdapterListener, AdapterStatus } from './adapters/adapter.js';
export { memoryAdapter, MemoryBus, type MemoryAdapterOptions } from './adapters/memory.js';
export { redisAdapter, type RedisAdapterOptions } from './adapters/redis.js';
export { natsAdapter, type NatsAdapterOptions } from './adapters/nats.js';
export { Cluster, type ClusterNode, type ClusterStatus } from './cluster/cluster.js';
export type { ClusterClient } from './cluster/messages.js';
export type { ClusterOptions } from './cluster/cluster-options.js';
