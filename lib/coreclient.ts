/**
 * pnetwork coreclient: the client side on its own, exported as `pnetwork/coreclient`. The same classes
 * as the root export, for code that only connects.
 * @packageDocumentation
 */
export { Client, type ClientOptions, type ClientState, type ReconnectAttempt } from './client.js';
export { Connection } from './connection.js';
export { Bind } from './bind.js';
export type { CommonOptions } from './options.js';
export type { ActionMap, AnyActions, ActionName, DataOf, ReplyOf, HandlerResult, Envelope, TrafficStats, InstanceStats, RequestOptions, Binding } from './types.js';
