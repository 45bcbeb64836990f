/**
 * Options both Server and Client accept, and the one place they are merged over DEFAULTS.
 * @module
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { netTransport, type Transport } from './transport/transport.js';
import { DEFAULTS } from './defaults.js';
import { JSON_CODEC, jsonCodec, type Codec } from './protocol/codec.js';
import type { ConnectionSettings } from './connection.js';
import { checkDelay } from './timing.js';
import { MAX_STREAM_CREDIT } from './protocol/stream-packets.js';

/** Options common to Server and Client. Every field is optional; see DEFAULTS for the values. */
export interface CommonOptions {
  /** Host to bind (server) or connect to (client). @defaultValue '127.0.0.1' */
  host?: string;
  /** Port to bind or connect to; 0 lets a server pick a free one. @defaultValue 25565 */
  port?: number;
  /** Payload codec. @defaultValue JSON with the limits below */
  codec?: Codec;
  /** Largest frame payload sent or accepted, in bytes. @defaultValue 1 MiB */
  maxFrameBytes?: number;
  /** Largest first frame (the handshake) accepted, in bytes: a peer that has not shaken hands gets little. @defaultValue 64 KiB */
  maxHandshakeBytes?: number;
  /** Longest action name accepted. @defaultValue 256 */
  maxActionLength?: number;
  /** Deepest nesting accepted in `data`. @defaultValue 64 */
  maxDepth?: number;
  /** Backlog above which a connection is not `writable` (sends are still accepted). @defaultValue 8 MiB */
  maxSendBufferBytes?: number;
  /** Time the peer may read nothing while more than `maxSendBufferBytes` wait, or while stream values wait for its full socket, before it is disconnected, in ms. @defaultValue 10 000 */
  sendStallTimeoutMs?: number;
  /** Time allowed for the handshake, in ms. @defaultValue 10 000 */
  handshakeTimeoutMs?: number;
  /** Default request timeout, in ms. @defaultValue 10 000 */
  requestTimeoutMs?: number;
  /** Interval between pings, in ms; 0 turns heartbeats off. @defaultValue 25 000 */
  heartbeatIntervalMs?: number;
  /** Time the peer has to answer a ping, in ms. @defaultValue 20 000 */
  heartbeatTimeoutMs?: number;
  /** Time a closing connection waits for the peer before destroying the socket, in ms. @defaultValue 5 000 */
  closeTimeoutMs?: number;
  /**
   * Time a frame that has started may go without receiving more bytes, in ms; then the connection closes
   * with `FrameTimeoutError` (`ERR_FRAME_TIMEOUT`). Infinity turns the check off. @defaultValue 30 000
   */
  incompleteFrameTimeoutMs?: number;
  /** Initial credit of each stream this side consumes (values the peer may send before more is granted). @defaultValue 256 */
  streamPrefetch?: number;
  /** Streams open at once per connection in each direction; a new one past it is refused with ERR_STREAM_LIMIT. @defaultValue 1024 */
  maxConcurrentStreams?: number;
  /** Values a stream may hold while it waits for credit or a full socket; past it the stream ends with ERR_STREAM_OVERFLOW. @defaultValue 1024 */
  maxStreamBufferedValues?: number;
  /**
   * Handler invocations (a returned Promise or Observable not yet settled) one connection may have in
   * flight. Above it, and while replies wait for the peer to read, packets wait in order and the socket
   * stops reading until work drains. @defaultValue 256
   */
  maxConcurrentHandlers?: number;
  /**
   * Packets per second the peer may send on one connection (a token bucket: bursts of up to one
   * second's worth). An excess packet is not handled and gets an `ERR_RATE_LIMITED` error packet; more
   * refusals than the limit within one second close the connection. @defaultValue Infinity (off)
   */
  maxPacketsPerSecond?: number;
  /** Drives every timeout (handshake, requests, heartbeats, backoff); inject a TestScheduler in tests. @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
  /**
   * Where sockets come from: `node:net` by default; any object with the shape of `net.createServer` and
   * `net.connect` (a `MemoryTransport` from `pnetwork/testing`, say). @defaultValue netTransport
   */
  transport?: Transport;
}

/** The merged, complete form of {@link CommonOptions}. */
export interface ResolvedCommonOptions extends ConnectionSettings {
  host: string;
  port: number;
  handshakeTimeoutMs: number;
  transport: Transport;
}

/**
 * Merges options over DEFAULTS once, at the public boundary, and checks them.
 * @throws RangeError naming the first option whose value cannot work (Node would turn a NaN or huge
 * delay into 1 ms, for example)
 */
export function resolveCommonOptions(options: CommonOptions): ResolvedCommonOptions {
  const maxActionLength = integer('maxActionLength', options.maxActionLength ?? DEFAULTS.maxActionLength, 1);
  const maxDepth = integer('maxDepth', options.maxDepth ?? DEFAULTS.maxDepth, 1);
  // The shared default codec when the limits are the defaults: one fewer object graph per client.
  const defaultLimits = maxActionLength === DEFAULTS.maxActionLength && maxDepth === DEFAULTS.maxDepth;
  const codec = options.codec ?? (defaultLimits ? JSON_CODEC : jsonCodec({ maxActionLength, maxDepth }));
  return {
    host: hostName(options.host ?? DEFAULTS.host),
    port: integer('port', options.port ?? DEFAULTS.port, 0, 65_535),
    codec,
    maxFrameBytes: integer('maxFrameBytes', options.maxFrameBytes ?? DEFAULTS.maxFrameBytes, 0, 0xffff_ffff),
    maxHandshakeBytes: integer('maxHandshakeBytes', options.maxHandshakeBytes ?? DEFAULTS.maxHandshakeBytes, 1, 0xffff_ffff),
    maxActionLength,
    maxSendBufferBytes: integer('maxSendBufferBytes', options.maxSendBufferBytes ?? DEFAULTS.maxSendBufferBytes, 0),
    handshakeTimeoutMs: checkDelay('handshakeTimeoutMs', options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs),
    requestTimeoutMs: checkDelay('requestTimeoutMs', options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs),
    heartbeatIntervalMs: checkDelay('heartbeatIntervalMs', options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs, { zero: true }),
    heartbeatTimeoutMs: checkDelay('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? DEFAULTS.heartbeatTimeoutMs),
    closeTimeoutMs: checkDelay('closeTimeoutMs', options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs),
    sendStallTimeoutMs: checkDelay('sendStallTimeoutMs', options.sendStallTimeoutMs ?? DEFAULTS.sendStallTimeoutMs),
    scheduler: options.scheduler ?? asyncScheduler,
    maxPacketsPerSecond: countOrInfinity('maxPacketsPerSecond', options.maxPacketsPerSecond ?? DEFAULTS.maxPacketsPerSecond),
    maxConcurrentHandlers: integer('maxConcurrentHandlers', options.maxConcurrentHandlers ?? DEFAULTS.maxConcurrentHandlers, 1),
    transport: options.transport ?? netTransport,
    incompleteFrameTimeoutMs: checkDelay('incompleteFrameTimeoutMs', options.incompleteFrameTimeoutMs ?? DEFAULTS.incompleteFrameTimeoutMs, { infinite: true }),
    streamPrefetch: integer('streamPrefetch', options.streamPrefetch ?? DEFAULTS.streamPrefetch, 1, MAX_STREAM_CREDIT),
    maxConcurrentStreams: integer('maxConcurrentStreams', options.maxConcurrentStreams ?? DEFAULTS.maxConcurrentStreams, 1, 2 ** 30),
    maxStreamBufferedValues: integer('maxStreamBufferedValues', options.maxStreamBufferedValues ?? DEFAULTS.maxStreamBufferedValues, 0),
  };
}

function integer(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

function hostName(value: string): string {
  if (typeof value !== 'string' || value === '') throw new RangeError(`host must be a non-empty string, got ${shown(value)}`);
  return value;
}

/** A value as it appears in an error message: strings quoted, so `"80"` is not mistaken for 80. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** An integer from `min` (1 unless given), or Infinity for "no limit". */
export function countOrInfinity(name: string, value: number, min = 1): number {
  return value === Number.POSITIVE_INFINITY ? value : integer(name, value, min);
}

/** A number from 0 to 1. */
export function fraction(name: string, value: number): number {
  if (!(typeof value === 'number' && value >= 0 && value <= 1)) throw new RangeError(`${name} must be a number from 0 to 1, got ${shown(value)}`);
  return value;
}
