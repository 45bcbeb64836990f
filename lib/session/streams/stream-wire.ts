/**
 * What the stream machinery needs from a connection: a way to write packets, the socket's fill
 * state, and a place to report. Connection implements it; specs use an in-memory one.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { PnetworkError } from '../../errors.js';
import type { Packet } from '../../protocol/packet.js';

/** The connection side of the stream machinery. */
export interface StreamWire {
  /** The connection's token, carried by every stream packet. */
  readonly token: string;
  /** True while the socket is full: stream values wait rather than pile up in the writer. */
  readonly blocked: boolean;
  /** Calls `callback` once, when the socket takes writes again. */
  onceDrained(callback: () => void): void;
  /** Writes a packet: the error it was refused with (too large, not encodable, closed), or null. */
  trySend(packet: Packet): Error | null;
  /** Writes one `stream-next` carrying `value` for stream `stream`: as {@link StreamWire.trySend}, on the hot path. */
  trySendValue(stream: number, value: unknown): Error | null;
  /**
   * Hands what has been written so far to the socket now rather than at the end of the tick: a credit
   * grant goes out while the rest of a chunk of values is still being consumed, so the peer produces
   * the next values meanwhile.
   */
  flush(): void;
  /** Reports a failure to the application (the owner's `error$`). */
  report(error: PnetworkError): void;
}

/** Limits and defaults for one connection's streams. */
export interface StreamSettings {
  /** Initial credit of a stream this side consumes, unless the stream says otherwise. */
  streamPrefetch: number;
  /** Streams open at once in each direction. */
  maxConcurrentStreams: number;
  /** Values a stream may hold while it waits for credit or for the socket. */
  maxStreamBufferedValues: number;
  /** Drives the stream timeouts. */
  scheduler: SchedulerLike;
}

/** The code and message a failure shows the peer. */
export interface PeerError {
  readonly code: string;
  readonly message: string;
}
