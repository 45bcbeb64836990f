/**
 * One socket as an Observable of packets plus `sendPacket()`: the inbound pipeline (frames → packets →
 * handshake), the writer, request correlation, counters and the close sequence.
 * @module
 */
import { randomHexId } from './random-id.js';
import type { Socket } from 'node:net';
import { channelRecords, isEncrypted, peerFingerprint, securityOf } from './transport/sockets.js';
import type { ChannelRecordCounts } from './transport/secure-socket.js';
import { Subject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionClosedError, NotConnectedError, PacketError, PnetworkError, RateLimitedError, RemoteError, type HeartbeatTimeoutError, type SendBufferFullError } from './errors.js';
import { isTextCodec, splicesToken, type Codec } from './protocol/codec.js';
import { envelopeText, tokenField } from './protocol/envelope-text.js';
import { refuseAction, type Packet } from './protocol/packet.js';
import { tokenTail, type SharedPacket } from './protocol/shared-packet.js';
import { reportIfUnhandled } from './unhandled-failure.js';
import { refuseDelay } from './timing.js';
import { HeartbeatMonitor, type HeartbeatGroup } from './liveness/heartbeat-monitor.js';
import type { HandshakeDone, HandshakeEvent, HandshakeRules } from './operators/handshake.js';
import { InboundReader } from './session/inbound-reader.js';
import { PendingRequests } from './request/pending-requests.js';
import { closingPacket, errorPacket, fatalErrorPacket, handleControlPacket, pingPacket, refusedPacketId } from './session/control-packets.js';
import { STREAM_ACTIONS } from './protocol/stream-packets.js';
import { FrameWriter } from './transport/frame-writer.js';
import { InboundGate } from './session/inbound-gate.js';
import { PacketRate } from './session/packet-rate.js';
import { StreamTable, type StreamResponder } from './session/streams/stream-table.js';
import type { StreamWire } from './session/streams/stream-wire.js';
import { demandStreamOf, streamOf, uploadOf } from './session/streams/requester.js';
import type { ActionMap, ActionName, AnyActions, DataOf, DemandStream, DemandStreamOptions, ElementOf, ReplyOf, RequestOptions, StreamOptions, StreamSource, TrafficStats } from './types.js';
import { describeThrown } from './describe-thrown.js';

/** A numeric field a packet built by {@link Connection} may carry after its token. */
type OwnField = 'id' | 'stream';

/** Options for {@link Connection.close}. */
export interface CloseOptions {
  /**
   * False asks the peer not to reconnect (`retry: false` in the `closing` packet): a pnetwork client
   * then stops instead of reconnecting after its backoff. @defaultValue true
   */
  retry?: boolean;
}

/** Settings a connection runs with; Server and Client fill them from their merged options. */
export interface ConnectionSettings {
  codec: Codec;
  maxFrameBytes: number;
  /** Largest first frame accepted: the handshake. */
  maxHandshakeBytes: number;
  maxActionLength: number;
  maxSendBufferBytes: number;
  /** Time the peer may read nothing while the backlog is over `maxSendBufferBytes`, in ms. */
  sendStallTimeoutMs: number;
  requestTimeoutMs: number;
  closeTimeoutMs: number;
  /** Interval between pings once the handshake is done; 0 turns heartbeats off. */
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  scheduler: SchedulerLike;
  /** Time a started frame may go without more bytes before the connection closes; Infinity for never. */
  incompleteFrameTimeoutMs: number;
  /** Initial credit of each stream this side consumes. */
  streamPrefetch: number;
  /** Streams open at once in each direction. */
  maxConcurrentStreams: number;
  /** Values a stream may hold while it waits for credit or the socket. */
  maxStreamBufferedValues: number;
  /** True on the server side, which numbers its streams 2, 4, 6…; the client uses 1, 3, 5…. */
  evenStreamIds?: boolean;
  /** Most handler invocations in flight at once; above it the socket stops reading. */
  maxConcurrentHandlers: number;
  /** Packets per second the peer may send; Infinity for no limit. */
  maxPacketsPerSecond: number;
}

/**
 * How a connection reports to its owner (Server or Client). Each call names the connection, so one
 * hooks object can serve every connection of a server.
 */
export interface ConnectionHooks<C = Connection> {
  /** The handshake completed. */
  onHandshake(connection: C, done: HandshakeDone): void;
  /** A user packet arrived and passed every check. */
  onPacket(connection: C, packet: Packet): void;
  /** Something went wrong that the owner should report. */
  onError(connection: C, error: PnetworkError): void;
  /** The socket closed; `reason` says why. */
  onClose(connection: C, reason: string): void;
  /** The group whose one timer runs this connection's heartbeat; without it, the heartbeat has its own. */
  heartbeatGroup?(): HeartbeatGroup;
}

/**
 * One live connection. On the server, `server.clients` holds one per client; on the client,
 * `client.connection` is the one to the server.
 * @typeParam In actions this side receives
 * @typeParam Out actions this side sends
 */
export class Connection<In extends ActionMap = AnyActions, Out extends ActionMap = AnyActions> {
  // Not declared `implements HeartbeatListener, ControlContext, UnhandledReporter`: those members are internal and left
  // out of the published types, where the clause would no longer hold. Both are checked where `this` is passed.
  /**
   * A public id for this connection, for logs, the console and errors (`error.connectionId`): 16 random
   * hex digits, unrelated to the token, fixed when the socket is accepted or opened. It is local to this
   * process: the peer's side of the same socket has an id of its own.
   */
  readonly id = randomHexId(8);
  // A # field, so that a logger printing the connection (util.inspect) does not show the token.
  #secret = '';
  /** The end of every broadcast copy to this connection: its token as JSON (see SharedPacket). */
  #tokenTail: Buffer | null = null;
  /** The token's field as JSON text, which every packet this side builds ends with (see envelopeText). */
  #tokenField: string | null = null;
  private peerKey: { value: string | null } | null = null;
  /** When the connection was accepted or opened, in ms since the epoch. */
  readonly connectedAt: number;
  /** Live traffic counters. */
  readonly stats: TrafficStats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };

  // Created on first use: an idle connection should cost as little memory as possible.
  private incoming: Subject<Packet> | null = null;
  private pending: PendingRequests | null = null;
  private closedPromise: Promise<string> | null = null;
  private resolveClosed: ((reason: string) => void) | null = null;
  private monitor: HeartbeatMonitor | null = null;
  private gate: InboundGate | null = null;
  private rate: PacketRate | null = null;
  private readonly writer: FrameWriter;
  private readonly reader: InboundReader<this>;
  private closeReason: string | null = null;
  /** Sends made before the handshake completed (by middleware), in order: they go right after its reply. */
  private held: Array<() => void> | null = null;
  /** The promise of the last send and what sendPacket returned for it (see sendPacket). */
  private lastSent: Promise<void> | null = null;
  private lastWatched: Promise<void> | null = null;
  private peerRetry = true;
  private ending = false;
  private finished = false;
  private destroyTimer: Subscription | null = null;
  private closeTimerArmed = false;
  private reportedClose = false;
  private streamTable: StreamTable | null = null;
  private peerStreams = false;
  /** Kept once known: a socket forgets its peer's address when it closes, and learns it only on connect. */
  private knownAddress: string | null = null;

  /** @internal Created by Server and Client; users receive connections from them. */
  constructor(
    private readonly socket: Socket,
    private readonly settings: ConnectionSettings,
    // The rules' owner is this connection; `never` lets a server's rules for its subclass through.
    handshake: HandshakeRules<never>,
    private readonly hooks: ConnectionHooks<Connection<In, Out>>,
    /**
     * A client's: the address it dialled. Its socket's own is then read only when asked for (one
     * `getpeername` per connection, a tenth of a client's connect work); this stands in once it is gone.
     */
    private readonly dialledAddress: string | null = null,
  ) {
    this.connectedAt = settings.scheduler.now();
    this.writer = new FrameWriter(socket, settings, this.stats, this);
    socket.setNoDelay(true);
    if (dialledAddress === null) this.learnAddress();
    // The reader also absorbs socket errors after a fatal error, while the socket may stay open until
    // closeTimeoutMs: an error then (a reset) must not become an uncaught 'error'.
    this.reader = new InboundReader<this>(socket, settings, handshake as HandshakeRules<this>, this, this, this.stats);
  }

  /** The connection's secret token ('' until the handshake completes). Never sent to anyone else. */
  get token(): string {
    return this.#secret;
  }

  /**
   * The peer's address as `host:port`, as the socket reports it (`?:?` only before a server-side socket
   * is known). On a client it is read when first asked for; asked for only after the socket has closed,
   * it is the address the client dialled.
   */
  get remoteAddress(): string {
    return this.knownAddress ?? this.learnAddress() ?? this.dialledAddress ?? '?:?';
  }

  private learnAddress(): string | null {
    const { remoteAddress, remotePort } = this.socket;
    if (this.knownAddress === null && remoteAddress !== undefined && remotePort !== undefined) this.knownAddress = `${remoteAddress}:${remotePort}`;
    return this.knownAddress;
  }

  /** True when the connection runs over TLS or the secure channel. */
  get encrypted(): boolean {
    return isEncrypted(this.socket);
  }

  /** How this connection is protected: `'tls'`, `'channel'` (the secure channel) or `'plain'`. */
  get security(): 'tls' | 'channel' | 'plain' {
    return securityOf(this.socket);
  }

  /** On the secure channel, the records sealed (`sent`) and opened (`received`) so far; null otherwise. */
  get channelRecords(): ChannelRecordCounts | null {
    return channelRecords(this.socket);
  }

  /**
   * The fingerprint (base64 SHA-256 of the SPKI) of the key the peer proved it holds: with its TLS
   * certificate, or by signing the secure channel's key exchange (the server's key, on a client). Null on
   * a plain connection or when the peer presented none. Middleware can decide by it.
   */
  get peerFingerprint(): string | null {
    this.peerKey ??= { value: peerFingerprint(this.socket) };
    return this.peerKey.value;
  }

  /** Bytes accepted by `sendPacket` and not yet sent: the writer's backlog plus the socket's own. */
  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  /**
   * False while more than `maxSendBufferBytes` wait to be sent (and once closing). Sends still work; a
   * producer of many packets should wait for {@link Connection.drained} before sending more.
   */
  get writable(): boolean {
    return this.writer.writable && !this.isClosed;
  }

  /** Emits false when the backlog goes over `maxSendBufferBytes`, true when it is back under; completes on close. */
  get writable$(): Observable<boolean> {
    return this.writer.writable$;
  }

  /** Resolves once `writable` is true again (at once if it is); rejects with ConnectionClosedError if the connection closes first. */
  drained(): Promise<void> {
    if (this.isClosed) return Promise.reject(new ConnectionClosedError(this.closeReason ?? 'connection closed'));
    return this.writer.drained();
  }

  /** @internal The writer's call: the peer read nothing while too much waited; report it and drop the socket. */
  onWriterStalled(error: SendBufferFullError): void {
    this.hooks.onError(this, error);
    this.closeReason ??= error.message;
    this.socket.destroy();
    this.finish(this.closeReason);
  }

  /** True once the connection is closing or closed; sends then reject with ConnectionClosedError. */
  get isClosed(): boolean {
    return this.ending || this.finished;
  }

  /** Requests waiting for a reply on this connection. */
  get pendingRequests(): number {
    return this.pending?.size ?? 0;
  }

  /** Every user packet received on this connection (not replies, pings or errors). Completes on close. */
  get packets$(): Observable<Packet<ActionName<In>>> {
    if (this.incoming === null) {
      this.incoming = new Subject<Packet>();
      if (this.finished) this.incoming.complete();
    }
    return this.incoming.asObservable() as Observable<Packet<ActionName<In>>>;
  }

  /** Resolves with the close reason once the socket has closed. */
  get closed(): Promise<string> {
    if (this.closedPromise === null) {
      if (this.finished) this.closedPromise = Promise.resolve(this.closeReason ?? 'connection closed');
      else this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    }
    return this.closedPromise;
  }

  /**
   * Sends a packet. The token is always set to this connection's own.
   * Resolves once the bytes are handed to the socket; waits while the socket is full. A failure that
   * nobody handles (the promise is dropped) is reported on the owner's `error$`, never lost. Made by a
   * middleware, before the connection is admitted, it waits for admission (as `request` does).
   * @throws (rejects) ReservedActionError, FrameTooLargeError, PacketError, ConnectionClosedError
   */
  sendPacket<A extends ActionName<Out>>(action: A, data: DataOf<Out, A>): Promise<void>;
  sendPacket(packet: Packet): Promise<void>;
  sendPacket(actionOrPacket: string | Packet, data?: unknown): Promise<void> {
    const action = typeof actionOrPacket === 'string' ? actionOrPacket : actionOrPacket.action;
    const refused = refuseAction(action, this.settings.maxActionLength);
    if (refused) return reportIfUnhandled(Promise.reject(refused), this);
    if (this.beforeHandshake) return reportIfUnhandled(this.afterHandshake(() => this.sendNow(actionOrPacket, data)), this);
    return this.sendNow(actionOrPacket, data);
  }

  /** sendPacket's work once the handshake is done. */
  private sendNow(actionOrPacket: string | Packet, data: unknown): Promise<void> {
    const action = typeof actionOrPacket === 'string' ? actionOrPacket : actionOrPacket.action;
    const sent =
      typeof actionOrPacket === 'string'
        ? this.sendOwn(action, data ?? null, this.now())
        : this.send({ action, data: actionOrPacket.data ?? null, 'packet-created': actionOrPacket['packet-created'], token: this.token });
    // Packets framed in one batch share the batch's promise, and so one watched promise: a burst of
    // sends costs one reporter per batch instead of one per packet. They fail together (the close), so
    // one caller who handles it has heard the failure for all of them.
    if (sent !== this.lastSent) {
      this.lastSent = sent;
      this.lastWatched = reportIfUnhandled(sent, this);
    }
    return this.lastWatched!;
  }

  /**
   * @internal Writes this connection's copy of a broadcast: a promise that settles when it is handed
   * to the socket, or null when the copy is refused (the connection is closing, say).
   */
  writeShared(shared: SharedPacket): Promise<void> | null {
    if (this.isClosed) return null;
    let refused: Error | null;
    try {
      refused = shared.head !== null ? this.writer.tryWriteSpliced(shared.head, (this.#tokenTail ??= tokenTail(this.token))) : this.writer.tryWrite(shared.encodeFor(this.token));
    } catch {
      return null;
    }
    return refused === null ? this.writer.lastWritten : null;
  }

  /** @internal A send failed and nobody handled its promise: the owner reports it. */
  reportUnhandled(error: unknown): void {
    if (!(error instanceof PnetworkError)) return;
    // Every send still waiting fails the same way when a connection closes: say so once.
    if (error instanceof ConnectionClosedError) {
      if (this.reportedClose) return;
      this.reportedClose = true;
    }
    this.hooks.onError(this, error);
  }

  /**
   * Sends a request and resolves with the reply's data.
   * Rejects with RequestTimeoutError after `timeoutMs`, with RemoteError when the peer answers with an
   * error (its code in `remoteCode`), and with ConnectionClosedError when the connection closes first.
   * A failure that nobody handles (the promise is dropped) is reported on the owner's `error$`, as a
   * send's is, never as an unhandled rejection.
   */
  request<A extends ActionName<Out>>(action: A, data: DataOf<Out, A>, options: RequestOptions = {}): Promise<ReplyOf<Out, A>> {
    const refused = refuseAction(action, this.settings.maxActionLength) ?? (options.timeoutMs === undefined ? null : refuseDelay('timeoutMs', options.timeoutMs));
    if (refused) return reportIfUnhandled(Promise.reject(refused), this);
    const timeoutMs = options.timeoutMs ?? this.settings.requestTimeoutMs;
    const reply = this.beforeHandshake ? this.afterHandshake(() => this.openRequest(action, data, timeoutMs).reply) : this.openRequest(action, data, timeoutMs).reply;
    return reportIfUnhandled(reply as Promise<ReplyOf<Out, A>>, this);
  }

  /**
   * True while a server-side connection waits for admission (its middleware runs): the client may
   * receive nothing before the handshake reply, so user sends wait for it.
   */
  private get beforeHandshake(): boolean {
    return this.#secret === '' && !this.isClosed;
  }

  /** Runs `send` once the handshake reply is out (or the connection closed first, when it fails as closed). */
  private afterHandshake<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (this.held ??= []).push(() => send().then(resolve, reject));
    });
  }

  /** @internal Sends, in order, what waited for the handshake. The server calls it right after its reply. */
  releaseHeld(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (const send of held) send();
  }

  /**
   * @internal Sends a request whose action and timeout are already checked: `sent` settles when its
   * packet is handed to the socket (a failure also rejects `reply`), `reply` with the answer.
   */
  openRequest(action: string, data: unknown, timeoutMs: number): { sent: Promise<void>; reply: Promise<unknown> } {
    if (this.isClosed) {
      const closed = Promise.reject(new ConnectionClosedError(this.closeReason ?? 'connection closed'));
      closed.catch(ignore);
      return { sent: closed, reply: closed };
    }
    this.pending ??= new PendingRequests(this.settings.scheduler);
    const { id, reply } = this.pending.open(action, timeoutMs);
    const sent = this.sendOwn(action, data ?? null, this.now(), 'id', id);
    sent.catch((err: Error) => this.pending?.fail(id, err));
    return { sent, reply };
  }

  /**
   * Requests a stream: a cold Observable; each subscription opens one stream on the wire. The
   * responder's values arrive as `next` (never more than the credit window ahead of this subscriber),
   * its completion as `complete`, its error as `error` (a RemoteError with the code in `remoteCode`);
   * unsubscribing cancels the stream at the responder. Fails with ConnectionClosedError when the
   * connection closes, StreamsUnsupportedError when the peer cannot stream, StreamLimitError past
   * `maxConcurrentStreams`, StreamTimeoutError for the optional timeouts.
   * @throws RangeError for invalid options
   */
  stream<A extends ActionName<Out>>(action: A, data: DataOf<Out, A>, options: StreamOptions = {}): Observable<ReplyOf<Out, A>> {
    return streamOf(this.streamOpener, action, data, undefined, options, this.settings.streamPrefetch) as Observable<ReplyOf<Out, A>>;
  }

  /**
   * Requests a stream with explicit demand: nothing flows until `request(n)` asks for `n` values.
   * @throws RangeError for invalid options
   */
  demandStream<A extends ActionName<Out>>(action: A, data: DataOf<Out, A>, options: DemandStreamOptions = {}): DemandStream<ReplyOf<Out, A>> {
    return demandStreamOf(this.streamOpener, action, data, options) as DemandStream<ReplyOf<Out, A>>;
  }

  /**
   * Opens a channel: `source`'s values go to the responder's handler (as the Observable it receives
   * for `data`), as fast as the responder grants credit; the Observable returned carries the
   * responder's values. Each direction completes on its own; an error, or unsubscribing, ends both.
   */
  channel<A extends ActionName<Out>>(action: A, source: StreamSource<ElementOf<DataOf<Out, A>>>, options: StreamOptions = {}): Observable<ReplyOf<Out, A>> {
    return streamOf(this.streamOpener, action, null, source, options, this.settings.streamPrefetch) as Observable<ReplyOf<Out, A>>;
  }

  /**
   * Uploads `source`'s values to the responder's handler (which receives them as an Observable) and
   * resolves with the handler's result (its first value; undefined for none) once it has completed.
   * A failure that nobody handles (the promise is dropped) is reported on the owner's `error$`.
   */
  sendStream<A extends ActionName<Out>>(action: A, source: StreamSource<ElementOf<DataOf<Out, A>>>, options: StreamOptions = {}): Promise<ReplyOf<Out, A>> {
    // Watched as a send is: an upload whose promise is dropped reports its failure on error$.
    return reportIfUnhandled(uploadOf(this.channel(action, source, options)) as Promise<ReplyOf<Out, A>>, this);
  }

  /** Streams open on this connection now, in both directions. */
  get openStreams(): number {
    return this.streamTable?.size ?? 0;
  }

  /** @internal The responder for a stream open the router is about to serve; null when it was refused. */
  acceptStream(packet: Packet): StreamResponder | null {
    return this.streams().accept(packet);
  }

  /** What a stream Observable calls on each subscription: made on first use (most connections never stream). */
  private streamStarter: (() => StreamTable | Error) | null = null;

  private get streamOpener(): () => StreamTable | Error {
    return (this.streamStarter ??= () => {
      if (this.isClosed) return new ConnectionClosedError(this.closeReason ?? 'connection closed');
      // A stream cannot wait in line as a packet does: its credit and timers start at once.
      if (this.beforeHandshake) return new NotConnectedError('the connection is not admitted yet: open streams once it is (from connection$)');
      return this.streams();
    });
  }

  private streams(): StreamTable {
    if (this.streamTable === null) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const connection = this;
      const wire: StreamWire = {
        get token() {
          return connection.token;
        },
        get blocked() {
          return connection.writer.blocked;
        },
        onceDrained: (callback) => this.writer.onceDrained(callback),
        trySend: (packet) => {
          if (this.isClosed) return new ConnectionClosedError(this.closeReason ?? 'connection closed');
          // Stamped here, on the connection's clock: stream packets are built without one.
          packet['packet-created'] = this.now();
          try {
            return this.writer.tryWrite(this.encode(packet));
          } catch (err) {
            return err as Error;
          }
        },
        trySendValue: (stream, value) => {
          if (this.isClosed) return new ConnectionClosedError(this.closeReason ?? 'connection closed');
          try {
            return this.writer.tryWrite(this.encodeOwn(STREAM_ACTIONS.next, value, this.now(), 'stream', stream));
          } catch (err) {
            return err as Error;
          }
        },
        flush: () => this.writer.flush(),
        report: (error) => this.hooks.onError(this, error),
      };
      this.streamTable = new StreamTable(wire, this.settings, this.settings.evenStreamIds === true);
      this.streamTable.peerSupportsStreams = this.peerStreams;
      if (this.finished) this.streamTable.closeAll(new ConnectionClosedError(this.closeReason ?? 'connection closed'));
    }
    return this.streamTable;
  }

  /** @internal Answers request `id` with `data`. Handlers' return values go through here. */
  sendReply(id: number, data: unknown): Promise<void> {
    return this.sendOwn('reply', data, this.now(), 'id', id);
  }

  /** @internal Answers request `id` with an error. */
  sendErrorReply(id: number, code: string, message: string): Promise<void> {
    return this.send(errorPacket(code, message, this.token, id, this.now()));
  }

  /**
   * Closes the connection: tells the peer why (a `closing` packet sent after every packet already
   * accepted), ends the socket, and destroys it if the peer has not closed within `closeTimeoutMs`.
   * Resolves once the socket has closed. A pnetwork client reports `reason` on `disconnect$` and
   * reconnects after its backoff, unless `options.retry` is false.
   */
  close(reason = 'closed', options: CloseOptions = {}): Promise<void> {
    if (!this.ending && !this.finished) {
      this.closeReason = reason;
      this.send(closingPacket(reason, this.token || null, this.now(), options.retry !== false)).catch(() => undefined);
      this.ending = true;
      // Sends still waiting for the handshake fail now, as closed.
      this.releaseHeld();
      this.gate?.end();
      this.endSocket();
    }
    return this.closed.then(() => undefined);
  }

  /** @internal This connection's clock: its scheduler's `now()`, which stamps every packet it builds. */
  now(): number {
    return this.settings.scheduler.now();
  }

  /** @internal Sends a protocol packet (handshake reply, ping, error). Not for user actions. */
  sendControl(packet: Packet): Promise<void> {
    return this.send(packet);
  }

  private send(packet: Packet): Promise<void> {
    if (this.isClosed) return Promise.reject(new ConnectionClosedError(this.closeReason ?? 'connection closed'));
    let payload: string | Uint8Array;
    try {
      payload = this.encodeCoded(packet);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.write(payload);
  }

  /** Sends a packet this side builds from its parts (see encodeOwn). */
  private sendOwn(action: string, data: unknown, createdAt: number, field?: OwnField, value = 0): Promise<void> {
    if (this.isClosed) return Promise.reject(new ConnectionClosedError(this.closeReason ?? 'connection closed'));
    let payload: string | Uint8Array;
    try {
      payload = this.encodeOwn(action, data, createdAt, field, value);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.write(payload);
  }

  private encode(packet: Packet): string | Uint8Array {
    const codec = this.settings.codec;
    return isTextCodec(codec) ? codec.encodeText(packet) : codec.encode(packet);
  }

  /**
   * {@link encode}, with any failure as a coded error: a custom codec may throw anything, and callers
   * and error$ always get a PnetworkError.
   */
  private encodeCoded(packet: Packet): string | Uint8Array {
    try {
      return this.encode(packet);
    } catch (err) {
      throw err instanceof PnetworkError ? err : new PacketError('ERR_PACKET_JSON', `packet "${packet.action}" could not be encoded`, { cause: err });
    }
  }

  /**
   * The payload of `{ action, data, 'packet-created', token }`, with `field: value` after the token when
   * given: put together around the data's JSON when the codec is the JSON codec itself (no packet object,
   * no action and token serialised again), else the codec's own encoding of that packet.
   * @throws PacketError when it cannot be encoded
   */
  private encodeOwn(action: string, data: unknown, createdAt: number, field?: OwnField, value = 0): string | Uint8Array {
    const codec = this.settings.codec;
    if (splicesToken(codec)) {
      let text: string | undefined;
      try {
        text = envelopeText(action, data, createdAt, (this.#tokenField ??= tokenField(this.token)), field === undefined ? '' : `,"${field}":${value}`);
      } catch (cause) {
        throw new PacketError('ERR_PACKET_JSON', `packet "${action}" cannot be serialised as JSON`, { cause });
      }
      if (text !== undefined) return text;
    }
    const packet: Packet = { action, data, 'packet-created': createdAt, token: this.token };
    if (field !== undefined) packet[field] = value;
    return this.encodeCoded(packet);
  }

  /** @internal Inbound reader: the socket closed after whole frames. */
  onEnd(): void {
    this.finish();
  }

  /** @internal Inbound reader: one event. */
  onEvent(event: HandshakeEvent): void {
    this.stats.packetsIn++;
    this.monitor?.activity();
    if (event.type === 'packet') {
      this.onPacket(event.packet);
    } else if (event.type === 'handshake') {
      this.#secret = event.token;
      this.#tokenTail = null;
      this.#tokenField = null;
      this.peerStreams = event.data.streams === true;
      if (this.streamTable) this.streamTable.peerSupportsStreams = this.peerStreams;
      // The socket is connected now: a server keeps its address for after it closes.
      if (this.dialledAddress === null) this.learnAddress();
      this.startHeartbeat();
      this.hooks.onHandshake(this, event);
      this.releaseHeld();
    } else {
      // Refused after the handshake: tell the peer, report it, keep the connection.
      const { error, packet } = event;
      this.send(errorPacket(error.code, error.message, this.token || null, refusedPacketId(packet), this.now())).catch(() => undefined);
      this.hooks.onError(this, error);
    }
  }

  private onPacket(packet: Packet): void {
    if (handleControlPacket(packet, this)) return;
    if (this.settings.maxPacketsPerSecond !== Number.POSITIVE_INFINITY && !this.withinRate(packet)) return;
    // No gate yet means no handler has ever been in flight, so nothing can be waiting ahead of this one.
    if (this.gate !== null) this.gate.offer(packet);
    else this.deliver(packet);
  }

  /** Counts a user packet against maxPacketsPerSecond; an excess one is refused, a sustained flood closes. */
  private withinRate(packet: Packet): boolean {
    this.rate ??= new PacketRate(this.settings.maxPacketsPerSecond, this.settings.scheduler);
    const verdict = this.rate.take();
    if (verdict === 'accept') return true;
    const error = new RateLimitedError(packet.action, this.settings.maxPacketsPerSecond, verdict === 'flood');
    if (!this.isClosed) {
      this.send(errorPacket(error.code, error.message, this.token, refusedPacketId(packet), this.now())).catch(() => undefined);
      this.hooks.onError(this, error);
      if (error.flood) void this.close(error.message);
    }
    return false;
  }

  private deliver(packet: Packet): void {
    if (this.incoming?.observed) this.incoming.next(packet);
    this.hooks.onPacket(this, packet);
  }

  /** @internal Control packets: a `stream-*` packet, for the stream it names. */
  streamControl(packet: Packet): void {
    this.streams().control(packet);
  }

  /**
   * True while this connection has stopped reading from its socket: `maxConcurrentHandlers` handlers
   * are in flight, or their replies wait for the peer to read. It reads again when they drain.
   */
  get readingPaused(): boolean {
    return this.gate?.readingPaused ?? false;
  }

  /**
   * @internal Router: one handler invocation is in flight until the returned function is called;
   * `cancel` ends it if the connection closes first (at once if it is already closed).
   */
  holdHandler(cancel: () => void): () => void {
    if (this.finished) {
      cancel();
      return noop;
    }
    this.gate ??= new InboundGate(this.settings.maxConcurrentHandlers, this.socket, (packet) => this.deliver(packet));
    return this.gate.hold(cancel);
  }

  /** @internal Control packets: settles the request a reply or error answers. */
  settleRequest(packet: Packet): boolean {
    return this.pending?.settle(packet) ?? false;
  }

  /** @internal Control packets: a problem to report to the owner. */
  reportError(error: PnetworkError): void {
    this.hooks.onError(this, error);
  }

  /** @internal Control packets: the peer sent `closing`. */
  peerClosing(reason: string, retry: boolean): void {
    this.closeReason = reason;
    this.peerRetry = retry;
  }

  /** False once the peer closed with `retry: false`: it asks not to be reconnected to. */
  get peerAllowsRetry(): boolean {
    return this.peerRetry;
  }

  /** @internal Inbound pipeline: a fatal error. Tell the peer if we still can, then close. */
  onFatal(err: unknown): void {
    const error = err instanceof PnetworkError ? err : null;
    const reason = describeThrown(err);
    if (error) {
      this.hooks.onError(this, error);
      // An error the peer sent us (a refused handshake) is never answered, nor is the peer's closing.
      if (!(error instanceof RemoteError) && !(error instanceof ConnectionClosedError) && !this.ending && !this.finished && this.socket.writable) {
        this.send(fatalErrorPacket(error, this.token || null, this.now())).catch(() => undefined);
      }
    }
    this.closeReason ??= reason;
    this.ending = true;
    this.gate?.end();
    if (error) this.endSocket();
    else this.socket.destroy();
    // The socket stream is gone, so 'close' will not complete it: watch the socket directly.
    if (this.socket.destroyed) this.finish(this.closeReason);
    else this.socket.once('close', () => this.finish(this.closeReason ?? reason));
  }

  /** Pings the peer every interval and drops it when it stays silent past the timeout. */
  private startHeartbeat(): void {
    const { heartbeatIntervalMs, heartbeatTimeoutMs, scheduler } = this.settings;
    if (!(heartbeatIntervalMs > 0)) return;
    const group = this.hooks.heartbeatGroup?.();
    this.monitor = group ? group.monitor(this) : new HeartbeatMonitor({ intervalMs: heartbeatIntervalMs, timeoutMs: heartbeatTimeoutMs }, scheduler, this);
    this.monitor.start();
  }

  /** @internal The heartbeat monitor's call: send a ping. */
  onHeartbeatPing(): void {
    this.send(pingPacket(this.token, this.now())).catch(() => undefined);
  }

  /** @internal The heartbeat monitor's call: the peer is gone or stuck, so drop the socket at once. */
  onHeartbeatTimeout(error: HeartbeatTimeoutError): void {
    this.hooks.onError(this, error);
    this.closeReason ??= error.message;
    this.socket.destroy();
    this.finish(this.closeReason);
  }

  private endSocket(): void {
    this.writer.end();
    if (this.closeTimerArmed) return;
    this.closeTimerArmed = true;
    // Armed after this tick's writes have been handed to the socket (the writer flushes on nextTick,
    // queued before this): a clock that jumps ahead, as a virtual one can, never cuts off the last packets.
    process.nextTick(armCloseTimer, this);
  }

  /** @internal Starts the close timeout; the socket is destroyed if the peer has not closed by then. */
  armCloseTimer(): void {
    if (this.finished) return;
    this.destroyTimer = this.settings.scheduler.schedule(destroySocket, this.settings.closeTimeoutMs, this.socket);
  }

  /** @internal Inbound pipeline ended, or the connection is being torn down. */
  finish(reason: string = this.closeReason ?? 'connection closed by peer'): void {
    if (this.finished) return;
    this.finished = true;
    this.ending = true;
    this.destroyTimer?.unsubscribe();
    this.reader.stop();
    this.monitor?.stop();
    if (!this.socket.destroyed) this.socket.destroy();
    const error = new ConnectionClosedError(reason);
    this.writer.close(error);
    this.releaseHeld();
    this.pending?.rejectAll(error);
    this.streamTable?.closeAll(error);
    this.gate?.close();
    this.incoming?.complete();
    this.resolveClosed?.(reason);
    this.closedPromise ??= Promise.resolve(reason);
    this.hooks.onClose(this, reason);
  }
}

function noop(): void {}

function ignore(): void {}

function armCloseTimer(connection: Connection): void {
  connection.armCloseTimer();
}

/** The close timeout's work: the peer did not close in time. A module function, so no closure per connection. */
function destroySocket(socket?: Socket): void {
  socket?.destroy();
}

