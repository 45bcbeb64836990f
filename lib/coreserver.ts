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
