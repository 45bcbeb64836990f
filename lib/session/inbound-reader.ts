/**
 * A connection's inbound side in one object: socket chunks → frames → packets → handshake. The same
 * steps as `decodeFrames`, `decodePacketsOrErrors` and the handshake operators, sharing their parts
 * (FrameDecoder, FrameStallWatch, the codec, HandshakeGate), without an Observable and a Subscriber
 * per step for every connection: an idle connection is mostly this path's memory.
 * @module
 */
import type { Socket } from 'node:net';
import type { SchedulerLike } from 'rxjs';
import { PacketError } from '../errors.js';
import { FrameStallWatch } from '../operators/frame-stall-watch.js';
import { HandshakeGate, type HandshakeEvent, type HandshakeOutput, type HandshakeRules } from '../operators/handshake.js';
import type { Codec } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/frame.js';
import type { Packet } from '../protocol/packet.js';

/** What the reader tells its connection; after `onFatal` or `onEnd` it tells it nothing more. */
export interface InboundSink {
  /** One event of the handshake gate: the handshake, an accepted packet, or a refused one. */
  onEvent(event: HandshakeEvent): void;
  /** The inbound side failed: a socket error, a bad frame, a refused handshake, a timeout. */
  onFatal(err: unknown): void;
  /** The socket closed after whole frames only. */
  onEnd(): void;
}

/** The limits and parts the reader works with (a connection's settings). */
export interface InboundSettings {
  readonly codec: Codec;
  readonly maxFrameBytes: number;
  readonly maxHandshakeBytes: number;
  readonly incompleteFrameTimeoutMs: number;
  readonly scheduler: SchedulerLike;
}

/** Where a socket keeps its reader: the listeners are module functions, so no closure per connection. */
const READER = Symbol('pnetwork.inboundReader');
type ReadSocket = Socket & { [READER]?: InboundReader };

/**
 * Reads one socket until it closes, fails or is stopped. Errors the socket reports after that are
 * absorbed (the socket closes by itself), so a late reset never becomes an uncaught 'error'.
 */
export class InboundReader<Owner = unknown> implements HandshakeOutput {
  private readonly decoder: FrameDecoder;
  private readonly gate: HandshakeGate<Owner>;
  private stall: FrameStallWatch | null = null;
  private stopped = false;

  /**
   * @param owner passed to the handshake rules' `admit`
   * @param counters each chunk's length is added to its `bytesIn`
   */
  constructor(
    private readonly socket: Socket,
    private readonly settings: InboundSettings,
    rules: HandshakeRules<Owner>,
    owner: Owner,
    private readonly sink: InboundSink,
    private readonly counters: { bytesIn: number },
  ) {
    this.decoder = new FrameDecoder(settings.maxFrameBytes, Math.min(settings.maxHandshakeBytes, settings.maxFrameBytes));
    // The handshake's timer starts before the socket is read, as the operator pipeline's did.
    this.gate = new HandshakeGate(rules, this, owner);
    (socket as ReadSocket)[READER] = this;
    socket.on('error', onSocketError);
    socket.on('data', onSocketData);
    socket.on('close', onSocketClose);
  }

  /** Stops reading for good: no more events, the partial frame and the timers released. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.socket.off('data', onSocketData);
    this.socket.off('close', onSocketClose);
    this.gate.stop();
    this.stall?.stop();
    this.decoder.release();
  }

  /** @internal The socket's 'data'. */
  onChunk(chunk: Buffer): void {
    if (this.stopped) return;
    this.counters.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk, deliverFrame, this);
    } catch (err) {
      this.error(err);
      return;
    }
    if (this.stopped || this.decoder.buffered === 0 || this.settings.incompleteFrameTimeoutMs === Number.POSITIVE_INFINITY) return;
    this.stall ??= new FrameStallWatch(this.decoder, this.settings.incompleteFrameTimeoutMs, this.settings.scheduler, (error) => this.error(error));
    this.stall.afterChunk();
  }

  /** @internal One frame's payload: decoded, then through the handshake gate. */
  onFrame(payload: Uint8Array): void {
    if (this.stopped) return;
    let input: Packet | PacketError;
    try {
      input = this.settings.codec.decode(payload);
    } catch (err) {
      if (!(err instanceof PacketError)) throw err;
      input = err;
    }
    this.gate.push(input);
  }

  /** @internal The socket closed: whole frames only, or an IncompleteFrameError. */
  onClose(): void {
    if (this.stopped) return;
    try {
      this.decoder.end();
    } catch (err) {
      this.error(err);
      return;
    }
    this.stop();
    this.sink.onEnd();
  }

  /** @internal The socket's 'error' (ignored once stopped). */
  onSocketError(err: Error): void {
    if (!this.stopped) this.error(err);
  }

  /** HandshakeOutput: an event for the connection. */
  next(event: HandshakeEvent): void {
    if (!this.stopped) this.sink.onEvent(event);
  }

  /** HandshakeOutput, and every failure here: stop, then tell the connection once. */
  error(err: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.sink.onFatal(err);
  }
}

function deliverFrame(this: InboundReader, payload: Uint8Array): void {
  this.onFrame(payload);
}

function onSocketData(this: ReadSocket, chunk: Buffer): void {
  this[READER]!.onChunk(chunk);
}

function onSocketClose(this: ReadSocket): void {
  this[READER]!.onClose();
}

function onSocketError(this: ReadSocket, err: Error): void {
  this[READER]!.onSocketError(err);
}
