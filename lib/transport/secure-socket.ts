/**
 * The secure channel on a socket: runs the key exchange over the socket's frames, then behaves as a
 * socket itself, sealing what is written into records and handing on only what opened. Everything
 * above it (the frame writer, the decoder, the handshake) sees an ordinary socket.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import { ClientKeyRefusedError, ChannelProtocolError, ChannelRequiredError, ConnectionClosedError, HandshakeTimeoutError, PnetworkError, remoteErrorFrom } from '../errors.js';
import { CONTENT_CLIENT_AUTH, CONTENT_DATA, CONTENT_KEY_UPDATE, MAX_EXCHANGE_MESSAGE_BYTES, MAX_RECORD_BYTES } from '../crypto/channel/constants.js';
import { takeEphemeralKey } from '../crypto/channel/spare-key.js';
import { answerClientHello, ClientKeyExchange, verifyClientAuth, type ChannelIdentity } from '../crypto/channel/exchange.js';
import { looksLikeExchangeMessage } from '../crypto/channel/messages.js';
import type { RecordOpener, RecordSealer } from '../crypto/channel/records.js';
import { encodeFrame, FrameDecoder } from '../protocol/frame.js';
import { FrameStallWatch } from '../operators/frame-stall-watch.js';
import type { Codec } from '../protocol/codec.js';
import { refuseSocket } from './refuse-socket.js';

/** How long the key exchange may take, on which clock, and how long a refused peer may linger. */
export interface ChannelDeadline {
  readonly timeoutMs: number;
  readonly closeTimeoutMs: number;
  /** Time a started record may go without more bytes before the channel fails; Infinity for never. */
  readonly incompleteFrameTimeoutMs: number;
  readonly scheduler: SchedulerLike;
}

/** The client's side of the exchange. */
export interface ClientChannelConfig {
  /** Accepts the server key by its fingerprint, or throws the error that refuses it. */
  readonly trustServerKey: (fingerprint: string) => void;
  /** The client's own key, to sign the transcript with. */
  readonly identity: ChannelIdentity | null;
  readonly rekeyAfterRecords: number;
}

/** The server's side of the exchange. */
export interface ServerChannelConfig {
  readonly identity: ChannelIdentity;
  /** Fingerprints of the client keys allowed in; null lets every client in, with or without a key. */
  readonly authorizedKeys: ReadonlySet<string> | null;
  /** The server's codec, for the error packet a refused client is sent. */
  readonly codec: Codec;
  readonly rekeyAfterRecords: number;
}

/** Records sealed and opened on one connection, key updates included. */
export interface ChannelRecordCounts {
  readonly sent: number;
  readonly received: number;
}

type Phase = 'exchange' | 'client-auth' | 'open' | 'failed';

/** Bytes a reader that does not read may leave in this socket before the socket below is paused. */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * A socket speaking the secure channel over `inner`. Made by {@link SecureSocket.connect} (client) or
 * {@link SecureSocket.accept} (server); `ready` settles when records may flow, or why they may not.
 */
export class SecureSocket extends Duplex {
  /** True: everything on this socket is sealed. */
  readonly encrypted = true;
  /** True: a write is sealed into a new buffer at once, so the one given is free once nothing waits here. */
  readonly copiesWrites = true;
  /** Resolves once the exchange is done; rejects with the typed error that ended it (the socket is closed). */
  readonly ready: Promise<void>;
  /** The key the peer proved it holds: the server's on a client; the client's (or null) on a server. */
  peerFingerprint: string | null = null;

  private phase: Phase = 'exchange';
  // # fields: a logger printing a connection (util.inspect) reaches this socket, and must find no keys here.
  #sealer: RecordSealer | null = null;
  #opener: RecordOpener | null = null;
  #transcript: Buffer | null = null;
  private readonly decoder = new FrameDecoder(MAX_RECORD_BYTES, MAX_EXCHANGE_MESSAGE_BYTES);
  private timer: Subscription | null;
  private settle!: { resolve: () => void; reject: (err: PnetworkError) => void };
  private innerPaused = false;
  private innerEnded = false;
  private lingering = false;
  /** A write waiting for the socket below to drain. */
  private pendingWrite: ((error?: Error | null) => void) | null = null;
  private readonly recordStall: FrameStallWatch;
  #clientExchange: ClientKeyExchange | null = null;

  private constructor(
    private readonly inner: Socket,
    private readonly role: { client: ClientChannelConfig } | { server: ServerChannelConfig },
    private readonly deadline: ChannelDeadline,
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
    this.ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // Whoever made it awaits `ready`; a failure nobody awaits must still not surface as unhandled.
    this.ready.catch(ignore);
    this.timer = deadline.scheduler.schedule(() => this.fail(new HandshakeTimeoutError(deadline.timeoutMs)), deadline.timeoutMs);
    this.recordStall = new FrameStallWatch(this.decoder, deadline.incompleteFrameTimeoutMs, deadline.scheduler, (error) => this.fail(error));
    // The exchange writes small messages back to back (client auth, then the handshake); none of them
    // should wait for Nagle's algorithm. The connection above sets the same once it exists.
    inner.setNoDelay(true);
    inner.on('data', this.onData);
    inner.on('error', this.onInnerError);
    inner.on('end', this.onInnerEnd);
    inner.on('close', this.onInnerClose);
    inner.on('drain', this.onInnerDrain);
  }

  /** Starts the client's side: sends the ClientHello at once (it waits in the socket until connected). */
  static connect(inner: Socket, config: ClientChannelConfig, deadline: ChannelDeadline): SecureSocket {
    const socket = new SecureSocket(inner, { client: config }, deadline);
    const exchange = new ClientKeyExchange({ random: randomBytes, trustServerKey: config.trustServerKey, identity: config.identity, rekeyAfterRecords: config.rekeyAfterRecords });
    socket.#clientExchange = exchange;
    inner.write(encodeFrame(exchange.hello));
    return socket;
  }

  /** Starts the server's side: waits for a ClientHello. */
  static accept(inner: Socket, config: ServerChannelConfig, deadline: ChannelDeadline): SecureSocket {
    return new SecureSocket(inner, { server: config }, deadline);
  }

  /** Records sealed and opened so far. */
  get records(): ChannelRecordCounts {
    return { sent: this.#sealer?.records ?? 0, received: this.#opener?.records ?? 0 };
  }

  /** The peer's address, as the socket below reports it. */
  get remoteAddress(): string | undefined {
    return this.inner.remoteAddress;
  }

  /** The peer's port, as the socket below reports it. */
  get remotePort(): number | undefined {
    return this.inner.remotePort;
  }

  /** The peer's address family, as the socket below reports it. */
  get remoteFamily(): string | undefined {
    return this.inner.remoteFamily;
  }

  /** Passed to the socket below. */
  setNoDelay(noDelay?: boolean): this {
    this.inner.setNoDelay(noDelay);
    return this;
  }

  /** Passed to the socket below. */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.inner.setKeepAlive(enable, initialDelay);
    return this;
  }

  /** Gives the exchange up: `ready` rejects with ConnectionClosedError, the socket is destroyed. */
  abort(reason: string): void {
    this.fail(new ConnectionClosedError(reason));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const sealer = this.#sealer;
    if (this.phase !== 'open' || sealer === null) {
      callback(new ConnectionClosedError('the secure channel is not open'));
      return;
    }
    // Each write is one tick's batch of frames from the frame writer: it becomes one record (or a few).
    if (this.inner.write(sealer.seal(chunk))) callback();
    else this.pendingWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.inner.destroyed) this.inner.end();
    callback();
  }

  override _read(): void {
    if (this.innerPaused) {
      this.innerPaused = false;
      this.inner.resume();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopTimer();
    this.recordStall.stop();
    this.inner.off('data', this.onData);
    this.inner.off('drain', this.onInnerDrain);
    // A refused peer is given its error packet and a moment to read it; anything else goes now.
    if (!this.lingering) this.inner.destroy();
    const pending = this.pendingWrite;
    this.pendingWrite = null;
    pending?.(error ?? new ConnectionClosedError());
    if (this.phase !== 'open' && this.phase !== 'failed') {
      this.phase = 'failed';
      this.reject(error instanceof PnetworkError ? error : new ConnectionClosedError('closed during the key exchange'));
    }
    callback(error);
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.decoder.push(chunk, this.onFrame);
    } catch (err) {
      this.fail(err instanceof PnetworkError ? err : new ChannelProtocolError('could not read the secure channel', { cause: err }));
      return;
    }
    // A record that starts and stalls holds bytes the connection above never sees: time it here.
    if (this.phase === 'open') this.recordStall.afterChunk();
  };

  /** One frame from the socket below: a key-exchange message, then records. Throws what ends the channel. */
  private readonly onFrame = (payload: Uint8Array): void => {
    switch (this.phase) {
      case 'exchange':
        if ('client' in this.role) this.receiveServerHello(payload);
        else this.receiveClientHello(payload, this.role.server);
        return;
      case 'client-auth':
        this.receiveClientAuth(payload, (this.role as { server: ServerChannelConfig }).server);
        return;
      case 'open':
        this.receiveRecord(payload);
        return;
      case 'failed':
        return;
    }
  };

  private receiveServerHello(payload: Uint8Array): void {
    if (!looksLikeExchangeMessage(payload)) throw plainAnswer(payload);
    const channel = this.#clientExchange!.receive(payload);
    this.#clientExchange = null;
    this.#sealer = channel.sealer;
    this.#opener = channel.opener;
    this.peerFingerprint = channel.serverFingerprint;
    this.inner.write(channel.firstRecord);
    this.open();
  }

  private receiveClientHello(payload: Uint8Array, config: ServerChannelConfig): void {
    if (!looksLikeExchangeMessage(payload)) {
      if (decodesAsPacket(payload, config.codec)) {
        // A client without encryption sent its plain handshake: tell it why, in the only words it reads.
        this.refuse(new ChannelRequiredError(), null);
        return;
      }
      throw new ChannelProtocolError('the first frame is not a ClientHello');
    }
    const ends = answerClientHello({ random: randomBytes, ephemeral: takeEphemeralKey(), identity: config.identity, rekeyAfterRecords: config.rekeyAfterRecords }, payload);
    this.#sealer = ends.sealer;
    this.#opener = ends.opener;
    this.#transcript = ends.transcript;
    this.phase = 'client-auth';
    this.inner.write(encodeFrame(ends.reply));
  }

  private receiveClientAuth(payload: Uint8Array, config: ServerChannelConfig): void {
    const { type, content } = this.#opener!.open(payload);
    if (type !== CONTENT_CLIENT_AUTH) throw new ChannelProtocolError(`the client's first record has type ${type}, not client auth`);
    const presented = verifyClientAuth(content, this.#transcript!);
    this.#transcript = null;
    this.peerFingerprint = presented;
    if (config.authorizedKeys !== null && (presented === null || !config.authorizedKeys.has(presented))) {
      this.refuse(new ClientKeyRefusedError(presented), this.#sealer);
      return;
    }
    this.open();
  }

  private receiveRecord(payload: Uint8Array): void {
    const { type, content } = this.#opener!.open(payload);
    if (type === CONTENT_DATA) {
      if (content.length > 0 && !this.push(content) && !this.innerPaused) {
        this.innerPaused = true;
        this.inner.pause();
      }
    } else if (type !== CONTENT_KEY_UPDATE) {
      throw new ChannelProtocolError(`unexpected record type ${type}`);
    }
  }

  private open(): void {
    this.phase = 'open';
    this.stopTimer();
    this.settle.resolve();
  }

  /**
   * Turns the peer away with one error packet (sealed when the channel has keys, plain otherwise), ends
   * the socket below and destroys it if the peer lingers past `closeTimeoutMs`.
   */
  private refuse(error: PnetworkError, sealer: RecordSealer | null): void {
    this.phase = 'failed';
    this.lingering = true;
    this.stopTimer();
    this.inner.off('data', this.onData);
    const { codec } = (this.role as { server: ServerChannelConfig }).server;
    refuseSocket(this.inner, error, codec, this.deadline.closeTimeoutMs, this.deadline.scheduler, sealer ? (frame) => sealer.seal(frame) : undefined);
    this.reject(error);
    this.destroy();
  }

  private fail(error: PnetworkError): void {
    if (this.phase === 'failed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'failed';
    this.reject(error);
    // Once open, the error is the socket's own, for the connection reading it; before, `ready` carries it.
    this.destroy(wasOpen ? error : undefined);
  }

  private reject(error: PnetworkError): void {
    this.stopTimer();
    this.settle.reject(error);
  }

  private stopTimer(): void {
    this.timer?.unsubscribe();
    this.timer = null;
  }

  private readonly onInnerError = (err: Error): void => {
    if (this.phase === 'open') this.destroy(err);
    else this.fail(new ConnectionClosedError(`connection failed during the key exchange: ${err.message}`));
  };

  private readonly onInnerEnd = (): void => {
    this.innerEnded = true;
    if (this.phase === 'open') this.push(null);
  };

  private readonly onInnerClose = (): void => {
    if (this.phase === 'open') {
      // After an orderly end, this side closes once its reader has taken the rest (as a net.Socket
      // does); a reset closes it now.
      if (!this.innerEnded || this.readableEnded) this.destroy();
    } else {
      this.fail(new ConnectionClosedError('the peer closed the connection during the key exchange'));
    }
  };

  private readonly onInnerDrain = (): void => {
    const pending = this.pendingWrite;
    this.pendingWrite = null;
    pending?.();
  };
}

/**
 * The error for a plain-text answer to the ClientHello: a pnetwork error packet (a server at its
 * connection limit, say) becomes the RemoteError it carries, never a refusal that stops reconnection,
 * since nothing authenticates it; anything else says that the server does not speak the channel.
 */
function plainAnswer(payload: Uint8Array): PnetworkError {
  try {
    const packet = JSON.parse(Buffer.from(payload).toString('utf8')) as { action?: unknown; data?: unknown };
    if (packet.action === 'error') {
      const refusal = remoteErrorFrom(packet.data, 'refused before the key exchange');
      refusal.message += ' (the server answered in plain text, before any key exchange)';
      return refusal;
    }
  } catch {
    // Not JSON: nothing more to say about it.
  }
  return new ChannelProtocolError('the server did not answer the key exchange: it answered in plain text, so it is not using the secure channel');
}

/** True when a first frame is a packet in the server's codec: a client that speaks pnetwork without the channel. */
function decodesAsPacket(payload: Uint8Array, codec: Codec): boolean {
  try {
    codec.decode(payload);
    return true;
  } catch {
    return false;
  }
}

function ignore(): void {}
