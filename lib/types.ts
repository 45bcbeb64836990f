/**
 * Types shared by Server, Client and Connection: action maps and envelopes.
 * @module
 */
import type { Observable } from 'rxjs';
import type { Packet } from './protocol/packet.js';

/**
 * A map from action name to its signature: the parameter is the packet's data, the return type is the
 * reply to a request (use `void` for one-way actions). Shared by both sides, as in socket.io's event maps.
 * @example
 * interface ClientActions { chat(data: { text: string }): void; sum(data: { a: number; b: number }): number }
 */
export type ActionMap = { [action: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** True when T is `any` (an untyped map's entries). */
/** True when `T` is `any`: an untyped action map accepts any data and reply. */
export type IsAny<T> = 0 extends 1 & T ? true : false;

/** The map used when none is given: any action, any data, any reply. */
export type AnyActions = ActionMap;

/** The action names of a map. */
export type ActionName<M extends ActionMap> = Extract<keyof M, string>;

/** The data type of an action. */
export type DataOf<M extends ActionMap, A extends keyof M> =
  IsAny<M[A]> extends true ? any : M[A] extends (data: infer D) => any ? D : never; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The reply type of an action; for a streaming action (one declared to return `Stream<T>`), the type
 * of each value, `T`.
 */
export type ReplyOf<M extends ActionMap, A extends keyof M> =
  IsAny<M[A]> extends true ? any : M[A] extends (...args: any[]) => infer R ? ElementOf<Awaited<R>> : never; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The values of a stream: what a streaming handler returns, an Observable or an AsyncIterable. Declare
 * a streaming action with it in the action map, and `stream()` is typed with the element type.
 * @example
 * interface ServerActions { prices(data: { symbol: string }): Stream<number>; chat(data: Observable<string>): Stream<string> }
 */
export type Stream<T> = Observable<T> | AsyncIterable<T>;

/** The element type of a {@link Stream}; any other type as it is. */
export type ElementOf<T> = T extends Stream<infer E> ? E : T;

/** What a handler may return: the reply, a Promise or Observable of it, or an AsyncIterable of stream values. */
export type HandlerResult<R> = R | Promise<R> | Observable<R> | AsyncIterable<R> | void | Promise<void>;

/** What a channel or upload sends: an Observable, an AsyncIterable, or an Iterable (an array). */
export type StreamSource<T> = Observable<T> | AsyncIterable<T> | Iterable<T>;

/** Options for {@link Connection.stream} and {@link Connection.channel}. */
export interface StreamOptions {
  /**
   * The credit window: values the responder may send ahead of this consumer; three quarters consumed,
   * as much is granted again. @defaultValue `DEFAULTS.streamPrefetch` (256)
   */
  prefetch?: number;
  /** Time to wait for the first value, in ms; the stream then fails with ERR_STREAM_TIMEOUT and is cancelled. @defaultValue none */
  firstValueTimeoutMs?: number;
  /** Time allowed between values while the responder holds credit, in ms; then ERR_STREAM_TIMEOUT. @defaultValue none */
  idleTimeoutMs?: number;
}

/** Options for {@link Connection.demandStream}: the timeouts only, since demand is explicit. */
export type DemandStreamOptions = Omit<StreamOptions, 'prefetch'>;

/**
 * A stream whose consumer says exactly how many values it wants: nothing flows until `request(n)`.
 * `values$` opens the stream when subscribed (one subscription at a time).
 */
export interface DemandStream<T> {
  /** The values; subscribing opens the stream with the demand requested so far. */
  readonly values$: Observable<T>;
  /**
   * Asks for `n` more values (cumulative, as in RSocket).
   * @throws StreamCreditError when `n` is not a whole number from 1, or the total would pass 2^31 − 1
   */
  request(n: number): void;
}

/** A packet together with the connection it arrived on. */
export interface Envelope<C = unknown, P extends Packet = Packet> {
  /** The packet as received. */
  readonly packet: P;
  /** The connection it came from (the client's own connection, on the client side). */
  readonly connection: C;
}

/** Per-connection traffic counters. */
export interface TrafficStats {
  /** Packets received and decoded, the handshake and refused ones included. */
  packetsIn: number;
  /** Packets accepted for sending, the handshake and control packets included. */
  packetsOut: number;
  /** Bytes received, frame headers included. */
  bytesIn: number;
  /** Bytes handed to the socket, frame headers included. */
  bytesOut: number;
}

/** Cumulative traffic of a Server or Client since `start()`. */
export interface InstanceStats extends TrafficStats {
  /** When `start()` completed, in ms since the epoch; null before. */
  startedAt: number | null;
  /** Connections open now (a client reports 0 or 1). */
  clients: number;
}

/** Options for {@link Connection.request}. */
export interface RequestOptions {
  /** Time to wait for the reply, in ms. @defaultValue `DEFAULTS.requestTimeoutMs` (10 s) */
  timeoutMs?: number;
}

/** A handle returned by `bindAction`; `unsubscribe()` unbinds the handler. */
export interface Binding {
  /** Unbinds the handler. Safe to call more than once. */
  unsubscribe(): void;
  /** True once unbound. */
  readonly closed: boolean;
}

/** A host and a port, as servers bind and clients connect. */
export interface HostPort {
  /** Host name or IP address. */
  host: string;
  /** TCP port. */
  port: number;
}
