/**
 * The client: connects, handshakes, and exposes the same routing API as the server.
 * @module
 */
import type { Socket } from 'node:net';
import type { Observable} from 'rxjs';
import { BehaviorSubject, Subject, defer, filter, firstValueFrom, from, merge, skip, switchMap, type Subscription } from 'rxjs';
import { DEFAULTS, PROTOCOL_VERSION } from './defaults.js';
import { AuthProviderError, ConnectionClosedError, ConnectionRefusedError, NotConnectedError, PnetworkError, RequestTimeoutError, aboutConnection } from './errors.js';
import { Connection } from './connection.js';
import { clientHandshakeRules, type HandshakeRules } from './operators/handshake.js';
import { countOrInfinity, fraction, resolveCommonOptions, type CommonOptions, type ResolvedCommonOptions } from './options.js';
import { createPacket, refuseAction, type JsonValue, type Packet } from './protocol/packet.js';
import { reportIfUnhandled } from './unhandled-failure.js';
import { backoffDelay, type BackoffConfig } from './reconnect/backoff.js';
import { OfflineQueue } from './reconnect/offline-queue.js';
import { Endpoint } from './endpoint.js';
import { checkDelay, refuseDelay } from './timing.js';
import { dial } from './transport/sockets.js';
import { resolveClientTls, type ClientTlsOptions, type ResolvedClientTls } from './transport/tls-options.js';
import { resolveClientEncryption, type ClientEncryptionOptions, type ResolvedClientEncryption } from './crypto/channel/channel-options.js';
import { SecureSocket } from './transport/secure-socket.js';
import { laterDemandStream } from './session/streams/requester.js';
import type {
  ActionMap,
  ActionName,
  AnyActions,
  DataOf,
  DemandStream,
  DemandStreamOptions,
  ElementOf,
  HostPort,
  InstanceStats,
  ReplyOf,
  RequestOptions,
  StreamOptions,
  StreamSource,
} from './types.js';
import { describeThrown } from './describe-thrown.js';

/** A client's connection state. */
export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A scheduled reconnection attempt. */
export interface ReconnectAttempt {
  /** 1 for the first attempt after a disconnect. */
  readonly attempt: number;
  /** The delay before it, jitter included, in ms. */
  readonly delayMs: number;
}

/** A packet waiting in the offline queue; a request also carries where its reply goes. */
interface Outgoing {
  readonly packet: Packet;
  readonly request?: {
    /** When the request times out, on the scheduler's clock: its timeout counts from the call. */
    readonly deadline: number;
    readonly timeoutMs: number;
    readonly resolve: (reply: unknown) => void;
    readonly reject: (error: unknown) => void;
  };
}

/** An attempt to connect that has not become the client's connection yet. */
interface Attempt {
  /** The connection being opened, once there is one (not during a key exchange). */
  readonly connection: Connection | null;
  /** Settles once the attempt's socket has closed (after an abort). */
  readonly closed: Promise<unknown>;
  /** Gives the attempt up: a connection still shaking hands fails with ConnectionClosedError(reason). */
  abort(reason: string): void;
}

/** An attempt whose socket is open and whose connection is shaking hands (or done with it). */
class ShakingAttempt<S extends ActionMap, C extends ActionMap> implements Attempt {
  connection: Connection<S, C> | null = null;
  /** True once the handshake is done: from then on, a failure is the connection's, not the attempt's. */
  ready = false;
  /** Why the attempt failed, to reject with once the socket has closed. */
  failure: PnetworkError | null = null;

  constructor(private readonly socket: Socket) {}

  get closed(): Promise<unknown> {
    return this.connection!.closed;
  }

  abort(reason: string): void {
    if (this.ready) {
      void this.connection!.close(reason);
    } else {
      this.failure = new ConnectionClosedError(reason);
      this.socket.destroy();
    }
  }
}

/**
 * What `auth` may be: a JSON value sent as is, or a function returning one (or a Promise of one),
 * called before every connection attempt so that a reconnection can send a fresh credential.
 */
export type AuthOption<Auth> = Auth | (() => Auth | PromiseLike<Auth>);

/** Options for {@link Client}: the common ones plus auth, reconnection and the offline queue. */
export interface ClientOptions<Auth = JsonValue> extends CommonOptions {
  /**
   * A credential sent in every handshake (`data.auth`), for the server's middleware to check; a
   * function is called on every connect and has `handshakeTimeoutMs` to settle. The server never echoes
   * it. @defaultValue none
   */
  auth?: AuthOption<Auth>;
  /**
   * Keep reconnecting after the server refused a handshake (`ConnectionRefusedError`, such as
   * `ERR_UNAUTHORIZED`). By default a refusal stops reconnection: the same credential would be
   * refused again. @defaultValue false
   */
  retryRefused?: boolean;
  /** Reconnect after an unexpected disconnect. @defaultValue true */
  reconnect?: boolean;
  /** First reconnection delay, in ms (doubles each attempt). @defaultValue 500 */
  reconnectDelayMs?: number;
  /** Cap on the reconnection delay, in ms. @defaultValue 10 000 */
  reconnectDelayMaxMs?: number;
  /** Random part of each delay, 0–1: the delay is drawn from [d·(1−jitter), d]. @defaultValue 0.5 */
  reconnectJitter?: number;
  /** Attempts before giving up; Infinity never gives up. @defaultValue Infinity */
  reconnectAttempts?: number;
  /** Packets held while disconnected; more reject with QueueFullError. @defaultValue 1000 */
  maxQueuedPackets?: number;
  /** Time a held packet may wait before it rejects with PacketExpiredError, in ms. @defaultValue Infinity */
  queuedPacketTtlMs?: number;
  /** Source of randomness for jitter, uniform in [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** Connect with TLS 1.3, pinning the server's key and/or checking it against CAs. @defaultValue plain TCP: packets and tokens travel in clear text */
  tls?: ClientTlsOptions;
  /**
   * Speak the secure channel to a server with `encryption`: the server's key is checked against
   * `serverFingerprint` (or a known_hosts file) before anything, the token included, is sent. Not
   * together with `tls`. @defaultValue off: packets and tokens travel in clear text
   */
  encryption?: ClientEncryptionOptions;
}

/**
 * A pnetwork client.
 * @typeParam C actions clients send (the server binds them)
 * @typeParam S actions the server sends (this client binds them)
 * @example
 * const client = new Client({ port: 25565 });
 * await client.start();
 * const sum = await client.request('sum', { a: 1, b: 2 });
 */
export class Client<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions, Auth = JsonValue> extends Endpoint<S, Connection<S, C>> {
  private readonly options: ResolvedCommonOptions;
  // Typed loosely inside: the Auth parameter only shapes the constructor's option. A # field, so
  // that a logger printing the client (util.inspect) does not show the credential.
  readonly #auth: AuthOption<unknown> | undefined;
  private readonly retryRefused: boolean;
  // # fields, so that a logger printing this object (util.inspect) does not show its keys.
  readonly #tls: ResolvedClientTls | null;
  readonly #encryption: ResolvedClientEncryption | null;
  private readonly backoff: BackoffConfig & { enabled: boolean; random: () => number };
  private readonly queue: OfflineQueue<Outgoing>;
  private readonly states = new BehaviorSubject<ClientState>('closed');
  // The subjects and views below are made on first use: most clients never watch them.
  /** Fires when the offline queue has been sent: `writable` may have changed without a state change. */
  private flushed: Subject<void> | null = null;
  /** What drained() waits on while not connected or flushing: a state change or the end of a flush. */
  private nudges: Observable<unknown> | null = null;
  private disconnects: Subject<string> | null = null;
  private attempts: Subject<ReconnectAttempt> | null = null;
  private stateView: Observable<ClientState> | null = null;
  private disconnectView: Observable<string> | null = null;
  private attemptView: Observable<ReconnectAttempt> | null = null;
  private current: Connection<S, C> | null = null;
  private startedAt: number | null = null;
  /** The pending reconnection attempt, if any. */
  private retry: Subscription | null = null;
  private attempt = 0;
  /** Bumped by stop(), so an attempt that finishes after it is discarded. */
  private generation = 0;
  /** The connection being opened (by start() or a reconnection), so that stop() can give it up. */
  private attemptInFlight: Attempt | null = null;
  /** The handshake's rules, made with the first connection and kept for every reconnection. */
  private handshakeRules: HandshakeRules | null = null;
  /** The first connection under way (start() until it settles). */
  private starting: Promise<void> | null = null;
  /** Connected at least once since the last stop(): a reconnect() then goes on trying when it fails. */
  private wasConnected = false;
  /** The reconnect() whose old connection is still closing: a second call joins it. */
  private redialing: Promise<void> | null = null;
  /** The reason given to the last stop(), for a start() it cut short. */
  private stopReason = 'client stopping';

  /** The connection state; replays the current state to each subscriber. */
  get state$(): Observable<ClientState> {
    return (this.stateView ??= this.states.asObservable());
  }

  /** The reason each time the connection to the server is lost (not when `stop()` closes it). */
  get disconnect$(): Observable<string> {
    return (this.disconnectView ??= (this.disconnects ??= new Subject<string>()).asObservable());
  }

  /** Each reconnection attempt as it is scheduled: its number (1-based) and its jittered delay. */
  get reconnectAttempt$(): Observable<ReconnectAttempt> {
    return (this.attemptView ??= (this.attempts ??= new Subject<ReconnectAttempt>()).asObservable());
  }

  /** @param options host, port, limits, timeouts, reconnection and queue; see {@link ClientOptions} */
  constructor(options: ClientOptions<Auth> = {}) {
    super();
    this.options = resolveCommonOptions(options);
    this.#auth = options.auth;
    this.retryRefused = options.retryRefused ?? false;
    this.#tls = resolveClientTls(options.tls);
    this.#encryption = resolveClientEncryption(options.encryption);
    if (this.#tls && this.#encryption) throw new RangeError('choose one of tls and encryption: the secure channel needs no TLS below it');
    this.backoff = {
      enabled: options.reconnect ?? DEFAULTS.reconnect,
      initialDelayMs: checkDelay('reconnectDelayMs', options.reconnectDelayMs ?? DEFAULTS.reconnectDelayMs, { zero: true }),
      maxDelayMs: checkDelay('reconnectDelayMaxMs', options.reconnectDelayMaxMs ?? DEFAULTS.reconnectDelayMaxMs, { zero: true }),
      jitter: fraction('reconnectJitter', options.reconnectJitter ?? DEFAULTS.reconnectJitter),
      maxAttempts: countOrInfinity('reconnectAttempts', options.reconnectAttempts ?? DEFAULTS.reconnectAttempts, 0),
      random: options.random ?? Math.random,
    };
    // Checks the backoff settings now, with the other options, rather than at the first disconnect.
    backoffDelay(0, this.backoff);
    this.queue = new OfflineQueue<Outgoing>({
      limit: options.maxQueuedPackets ?? DEFAULTS.maxQueuedPackets,
      ttlMs: checkDelay('queuedPacketTtlMs', options.queuedPacketTtlMs ?? DEFAULTS.queuedPacketTtlMs, { infinite: true }),
      scheduler: this.options.scheduler,
    });
  }

  /** Packets waiting for a connection. */
  get queuedPackets(): number {
    return this.queue.size;
  }

  /** Bytes accepted and not yet sent on the current connection (0 without one). */
  get bufferedBytes(): number {
    return this.current?.bufferedBytes ?? 0;
  }

  /**
   * True when a send goes straight out: connected, nothing waiting in the offline queue, and the
   * connection's backlog under `maxSendBufferBytes`. A producer of many packets awaits
   * {@link Client.drained} while it is false.
   */
  get writable(): boolean {
    const connection = this.current;
    return connection !== null && this.sendsDirectly(connection) && connection.writable;
  }

  /**
   * Resolves once {@link Client.writable} is true (at once if it is): after a reconnect and its queue,
   * and once the connection's backlog has drained. Rejects with NotConnectedError if the client stops.
   */
  async drained(): Promise<void> {
    while (!this.writable) {
      if (this.state === 'closed') throw new NotConnectedError('client is not started');
      const connection = this.current;
      if (connection && !connection.isClosed && !connection.writable) await connection.drained().catch(() => undefined);
      else await firstValueFrom(this.nudged);
    }
  }

  /** The current state. */
  get state(): ClientState {
    return this.states.value;
  }

  /** The connection to the server, once the handshake is done; null otherwise. */
  get connection(): Connection<S, C> | null {
    return this.current;
  }

  /** This client's secret token, once the handshake is done; null otherwise. */
  get token(): string | null {
    return this.current?.token ?? null;
  }

  /** The server's address this client connects to. */
  address(): HostPort {
    return { host: this.options.host, port: this.options.port };
  }

  /**
   * Connects and resolves once the handshake is done and `token` is set. The first connection is not
   * retried: a failure rejects (reconnection applies once a connection has been made). A `stop()` before
   * it is done gives the attempt up at once: `start()` then rejects with `ConnectionClosedError` carrying
   * the stop's reason. Called while the client connects, it is that start; while it reconnects, it
   * resolves once reconnected (and rejects if the client stops or gives up first).
   */
  start(): Promise<void> {
    // A start() while another connects is that start: it resolves once connected, not before.
    if (this.starting) return this.starting;
    if (this.state === 'reconnecting') return this.reconnected();
    if (this.state !== 'closed') return Promise.resolve();
    const starting = this.startNow().finally(() => {
      if (this.starting === starting) this.starting = null;
    });
    this.starting = starting;
    return starting;
  }

  /** Resolves once the reconnection under way has connected; rejects when it ends without (stopped, given up). */
  private async reconnected(): Promise<void> {
    const generation = this.generation;
    const state = await firstValueFrom(this.states.pipe(filter((next) => next === 'connected' || next === 'closed')));
    if (state === 'connected') return;
    if (generation !== this.generation) throw new ConnectionClosedError(this.stopReason);
    throw new NotConnectedError(`gave up reconnecting to ${this.options.host}:${this.options.port}`);
  }

  /**
   * Connects once; with `retry` (a reconnect() of a client that was connected) a failure goes on as a lost
   * connection does, reconnecting with backoff, and this resolves once reconnected.
   */
  private async startNow(retry = false): Promise<void> {
    this.states.next('connecting');
    const generation = this.generation;
    let connection: Connection<S, C>;
    try {
      connection = await this.connectOnce();
    } catch (err) {
      const refusedForGood = err instanceof ConnectionRefusedError && !this.retryRefused;
      if (generation === this.generation && retry && this.backoff.enabled && !refusedForGood) {
        if (err instanceof PnetworkError) this.router.report(err);
        this.states.next('reconnecting');
        this.scheduleReconnect();
        return this.reconnected();
      }
      if (generation === this.generation) {
        this.states.next('closed');
        this.queue.rejectAll(new ConnectionClosedError(describeThrown(err)));
      }
      throw err;
    }
    if (generation !== this.generation) {
      // stop() came between the handshake and now: it is closing this connection.
      await connection.close('client stopping');
      throw new ConnectionClosedError(this.stopReason);
    }
    this.startedAt = this.options.scheduler.now();
    this.connected(connection);
  }

  /**
   * Closes the connection gracefully and stops reconnecting; resolves once the socket has closed.
   * Packets still queued reject with ConnectionClosedError.
   */
  async stop(reason = 'client stopping'): Promise<void> {
    const closing = this.dropConnection(reason);
    this.wasConnected = false;
    this.states.next('closed');
    this.queue.rejectAll(new ConnectionClosedError(reason));
    await closing;
  }

  /**
   * Drops the current connection and connects again at once (a new token is issued). From the call on,
   * the client is `connecting`: sends and requests made before it resolves wait in the offline queue and
   * go out on the new connection, in order, as during a first start. Packets already sent go out on the
   * old connection before it closes. Rejects as `start()` does when the new connection fails, and with
   * ConnectionClosedError when `stop()` comes first (what waits in the queue then fails the same way).
   * A second call while the old connection is still closing is the same reconnect. If the new connection
   * cannot be made and reconnection is on, the client goes on trying as after a lost connection, and
   * this resolves once it is connected (it rejects if the attempts run out or `stop()` comes).
   */
  reconnect(): Promise<void> {
    if (this.redialing !== null) return this.redialing;
    // A client that was connected goes on trying if the new connection fails; a first one is not retried.
    const retry = this.wasConnected;
    const closing = this.dropConnection('client reconnecting');
    this.states.next('connecting');
    const generation = this.generation;
    const starting = closing
      .then(() => {
        if (this.redialing === starting) this.redialing = null;
        if (generation !== this.generation) throw new ConnectionClosedError(this.stopReason);
        return this.startNow(retry);
      })
      .finally(() => {
        if (this.starting === starting) this.starting = null;
      });
    this.starting = starting;
    this.redialing = starting;
    return starting;
  }

  /**
   * What stop() and reconnect() share: the start or reconnection under way is given up, the connection
   * closes (resolved once its socket has), and nothing is retried. The state and the queue are the caller's.
   */
  private dropConnection(reason: string): Promise<unknown> {
    this.generation++;
    // The start under way fails now; a start() after this one is a new one.
    this.starting = null;
    this.redialing = null;
    this.stopReason = reason;
    this.retry?.unsubscribe();
    this.retry = null;
    const connection = this.current;
    this.current = null;
    const attempt = this.attemptInFlight;
    this.attemptInFlight = null;
    attempt?.abort(reason);
    return Promise.all([connection?.close(reason), attempt?.closed]);
  }

  /** A packet carrying this client's token. */
  createPacket<A extends ActionName<C>>(action: A, data: DataOf<C, A>): Packet<A, DataOf<C, A>> {
    return createPacket(action, data, this.token, this.options.scheduler.now());
  }

  /** Sends a packet to the server; see {@link Connection.sendPacket}. */
  sendPacket<A extends ActionName<C>>(action: A, data: DataOf<C, A>): Promise<void>;
  sendPacket(packet: Packet): Promise<void>;
  sendPacket(actionOrPacket: string | Packet, data?: unknown): Promise<void> {
    const connection = this.current;
    if (connection && this.sendsDirectly(connection)) {
      return typeof actionOrPacket === 'string'
        ? connection.sendPacket(actionOrPacket as ActionName<C>, data as DataOf<C, ActionName<C>>)
        : connection.sendPacket(actionOrPacket);
    }
    const packet: Packet =
      typeof actionOrPacket === 'string'
        ? createPacket(actionOrPacket, data ?? null, this.token, this.options.scheduler.now())
        : { ...actionOrPacket, data: actionOrPacket.data ?? null };
    if (this.state === 'closed') return reportIfUnhandled(Promise.reject(new NotConnectedError('client is not started')), this);
    const refused = refuseAction(packet.action, this.options.maxActionLength);
    if (refused) return reportIfUnhandled(Promise.reject(refused), this);
    // Disconnected, or older packets still waiting: keep the order by queueing behind them.
    return reportIfUnhandled(this.queue.enqueue({ packet }, packet.action), this);
  }

  /**
   * Sends a request to the server and resolves with the reply; see {@link Connection.request}. While the
   * client is connecting or reconnecting, or older packets still wait in the offline queue, the request
   * waits in the queue too, in order: it never overtakes a packet sent before it. Its timeout counts
   * from this call, so a request held while offline rejects with `RequestTimeoutError` in time.
   * @throws (rejects) NotConnectedError when the client is not started; QueueFullError when the queue is full
   */
  request<A extends ActionName<C>>(action: A, data: DataOf<C, A>, options: RequestOptions = {}): Promise<ReplyOf<C, A>> {
    const connection = this.current;
    if (connection && this.sendsDirectly(connection)) return connection.request(action, data, options);
    if (this.state === 'closed') return reportIfUnhandled(Promise.reject(new NotConnectedError('client is not started')), this);
    const refused = refuseAction(action, this.options.maxActionLength) ?? (options.timeoutMs === undefined ? null : refuseDelay('timeoutMs', options.timeoutMs));
    if (refused) return reportIfUnhandled(Promise.reject(refused), this);
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const deadline = this.options.scheduler.now() + timeoutMs;
    const reply = new Promise<ReplyOf<C, A>>((resolve, reject) => {
      const outgoing: Outgoing = { packet: createPacket(action, data ?? null, this.token), request: { deadline, timeoutMs, resolve: resolve as (reply: unknown) => void, reject } };
      this.queue.enqueue(outgoing, action, { ttlMs: timeoutMs, expired: () => new RequestTimeoutError(action, timeoutMs) }).catch(reject);
    });
    return reportIfUnhandled(reply, this);
  }

  /** @internal A send failed and nobody handled its promise: reported on error$. */
  reportUnhandled(error: unknown): void {
    if (!(error instanceof PnetworkError)) return;
    this.router.report(this.current ? aboutConnection(error, this.current) : error);
  }

  /** Whether a send may skip the queue: connected, and nothing older waits in it. */
  private sendsDirectly(connection: Connection<S, C>): boolean {
    return !connection.isClosed && this.queue.size === 0 && !this.queue.flushing;
  }

  /** Sends one item of the offline queue; resolves once it is handed to the socket. */
  private sendQueued(connection: Connection<S, C>, { packet, request }: Outgoing): Promise<void> {
    if (request === undefined) return connection.sendPacket(packet);
    const remainingMs = request.deadline - this.options.scheduler.now();
    if (!(remainingMs > 0)) {
      request.reject(new RequestTimeoutError(packet.action, request.timeoutMs));
      return Promise.resolve();
    }
    const { sent, reply } = connection.openRequest(packet.action, packet.data, remainingMs);
    reply.then(request.resolve, request.reject);
    return sent;
  }

  /**
   * Requests a stream from the server; see {@link Connection.stream}. Cold: each subscription opens a
   * stream on the current connection. While the client connects or reconnects (or packets sent before
   * it still wait in the offline queue), the stream opens once they have gone; on a client that is not
   * started, or stops meanwhile, it fails with NotConnectedError.
   */
  stream<A extends ActionName<C>>(action: A, data: DataOf<C, A>, options?: StreamOptions): Observable<ReplyOf<C, A>> {
    return defer(() => this.onConnection((connection) => connection.stream(action, data, options)));
  }

  /** Requests a stream with explicit demand; see {@link Connection.demandStream}. Waits for a connection as {@link Client.stream} does. */
  demandStream<A extends ActionName<C>>(action: A, data: DataOf<C, A>, options?: DemandStreamOptions): DemandStream<ReplyOf<C, A>> {
    const connection = this.current;
    if (connection && this.sendsDirectly(connection)) return connection.demandStream(action, data, options);
    return laterDemandStream(() => this.streamConnection().then((later) => later.demandStream(action, data, options)));
  }

  /** Opens a channel to the server; see {@link Connection.channel}. Waits for a connection as {@link Client.stream} does. */
  channel<A extends ActionName<C>>(action: A, source: StreamSource<ElementOf<DataOf<C, A>>>, options?: StreamOptions): Observable<ReplyOf<C, A>> {
    return defer(() => this.onConnection((connection) => connection.channel(action, source, options)));
  }

  /** Uploads a stream of values to the server; see {@link Connection.sendStream}. Waits for a connection as {@link Client.stream} does. */
  sendStream<A extends ActionName<C>>(action: A, source: StreamSource<ElementOf<DataOf<C, A>>>, options?: StreamOptions): Promise<ReplyOf<C, A>> {
    const connection = this.current;
    if (connection && this.sendsDirectly(connection)) return connection.sendStream(action, source, options);
    return reportIfUnhandled(
      this.streamConnection().then((later) => later.sendStream(action, source, options)),
      this,
    );
  }

  /** `open` on the connection at once when sends go straight out, else once {@link streamConnection} has one. */
  private onConnection<T>(open: (connection: Connection<S, C>) => Observable<T>): Observable<T> {
    const connection = this.current;
    if (connection && this.sendsDirectly(connection)) return open(connection);
    return from(this.streamConnection()).pipe(switchMap(open));
  }

  /**
   * The connection a stream opens on: once the client is connected and the offline queue has gone out,
   * so a stream never overtakes a packet sent before it.
   * @throws (rejects) NotConnectedError when the client is not started, or stops first
   */
  private async streamConnection(): Promise<Connection<S, C>> {
    for (;;) {
      if (this.state === 'closed') throw new NotConnectedError('client is not started');
      const connection = this.current;
      if (connection && this.sendsDirectly(connection)) return connection;
      await firstValueFrom(this.nudged);
    }
  }

  /** Emits when the state changes or the offline queue has been flushed: time to look again. */
  private get nudged(): Observable<unknown> {
    return (this.nudges ??= merge(this.states.pipe(skip(1)), (this.flushed ??= new Subject<void>())));
  }

  /** Traffic of the current connection. */
  stats(): InstanceStats {
    const stats = this.current?.stats ?? { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
    return { ...stats, startedAt: this.startedAt, clients: this.current ? 1 : 0 };
  }

  /** Fetches the credential, then opens a socket and completes the handshake. */
  private async connectOnce(): Promise<Connection<S, C>> {
    const auth = await this.credential();
    const data = auth === undefined ? { protocol: PROTOCOL_VERSION, streams: true } : { protocol: PROTOCOL_VERSION, streams: true, auth };
    const handshake: Packet = { action: 'handshake', data, 'packet-created': this.options.scheduler.now(), token: null };
    // An auth value the codec cannot encode (a BigInt, say) fails here, before any socket is opened.
    this.options.codec.encode(handshake);
    return this.openConnection(handshake);
  }

  /**
   * The `auth` value for the next handshake: the option's value, or what its function returns now. A
   * function gets `handshakeTimeoutMs` to settle, and stop() gives it up at once: it is the attempt.
   */
  private credential(): Promise<unknown> {
    const auth = this.#auth;
    if (typeof auth !== 'function') return Promise.resolve(auth);
    const { handshakeTimeoutMs, scheduler } = this.options;
    return new Promise<unknown>((resolve, reject) => {
      const timer = scheduler.schedule(() => {
        settle();
        reject(new AuthProviderError(new Error(`it did not settle within ${handshakeTimeoutMs} ms (handshakeTimeoutMs)`)));
      }, handshakeTimeoutMs);
      const asking: Attempt = {
        connection: null,
        closed: Promise.resolve(),
        abort: (reason) => {
          settle();
          reject(new ConnectionClosedError(reason));
        },
      };
      const settle = (): void => {
        timer.unsubscribe();
        if (this.attemptInFlight === asking) this.attemptInFlight = null;
      };
      this.attemptInFlight = asking;
      new Promise<unknown>((called) => called((auth as () => unknown)())).then(
        (value) => {
          settle();
          resolve(value);
        },
        (err: unknown) => {
          settle();
          reject(new AuthProviderError(err));
        },
      );
    });
  }

  /** Opens a socket and completes the handshake; rejects with the reason it could not. */
  private openConnection(handshake: Packet): Promise<Connection<S, C>> {
    const { host, port, handshakeTimeoutMs, scheduler } = this.options;
    // Over TLS the socket is handed over only once the server's key is checked: nothing is written before.
    // stop() during the dial (a TLS handshake) gives it up: the signal destroys the socket and rejects.
    const dialling = new AbortController();
    const dialAttempt: Attempt = { connection: null, closed: Promise.resolve(), abort: (reason) => dialling.abort(new ConnectionClosedError(reason)) };
    this.attemptInFlight = dialAttempt;
    return dial(host, port, this.#tls, { timeoutMs: handshakeTimeoutMs, scheduler }, this.options.transport, dialling.signal)
      .finally(() => {
        if (this.attemptInFlight === dialAttempt) this.attemptInFlight = null;
      })
      .then((socket) => {
        if (!dialling.signal.aborted) return this.secure(socket);
        // stop() came while a plain socket was being handed over.
        socket.destroy();
        throw dialling.signal.reason;
      })
      .then((socket: Socket) => this.shakeHands(socket, handshake));
  }

  /**
   * Runs the pnetwork handshake on a connected (and, if asked, secured) socket. A method of its own, so
   * that the connection's hooks hold only what they use, not the dial's abort controller.
   */
  private shakeHands(socket: Socket, handshake: Packet): Promise<Connection<S, C>> {
    const { host, port, handshakeTimeoutMs, scheduler } = this.options;
    return new Promise((resolve, reject) => {
      const attempt = new ShakingAttempt<S, C>(socket);
      // Whether the TCP connection was made: a server that then closes it unanswered likely speaks TLS
      // or the secure channel, and a plain client's first frame means nothing to it.
      let connected = !socket.connecting;
      if (!connected) socket.once('connect', () => (connected = true));
      const connection: Connection<S, C> = new Connection<S, C>(
        socket,
        this.options,
        (this.handshakeRules ??= clientHandshakeRules({ timeoutMs: handshakeTimeoutMs, scheduler })),
        {
          onHandshake: () => {
            attempt.ready = true;
            resolve(connection);
          },
          onPacket: (_connection, packet) => this.router.dispatch(packet, connection),
          onError: (_connection, error) => {
            aboutConnection(error, connection);
            if (attempt.ready) {
              this.router.report(error);
              return;
            }
            // The attempt has failed: start() hears it now, while the socket closes in the background
            // (within closeTimeoutMs when the server keeps its side open).
            attempt.failure ??= error;
            reject(attempt.failure);
          },
          onClose: (_connection, reason) => {
            if (this.attemptInFlight === attempt && !attempt.ready) this.attemptInFlight = null;
            if (!attempt.ready) {
              const unanswered = connected && connection.stats.bytesIn === 0 && this.#tls === null && this.#encryption === null;
              const why = unanswered ? 'the server closed the connection without answering the handshake (does it expect TLS or encryption?)' : reason;
              reject(attempt.failure ?? new NotConnectedError(`could not connect to ${host}:${port}: ${why}`));
              return;
            }
            this.onConnectionClosed(connection, reason);
          },
        },
        `${host}:${port}`,
      );
      attempt.connection = connection;
      this.attemptInFlight = attempt;
      connection.sendControl(handshake).catch(() => undefined);
    });
  }

  /**
   * With `encryption`, runs the secure channel's key exchange on a fresh socket and resolves with the
   * socket that seals and opens records; without, resolves with the socket as it is. stop() can give
   * the exchange up.
   */
  private secure(socket: Socket): Promise<Socket> {
    const encryption = this.#encryption;
    if (encryption === null) return Promise.resolve(socket);
    const { host, port, handshakeTimeoutMs, closeTimeoutMs, incompleteFrameTimeoutMs, scheduler } = this.options;
    const secure = SecureSocket.connect(
      socket,
      { trustServerKey: (fingerprint) => encryption.trust(`${host}:${port}`, fingerprint), identity: encryption.identity, rekeyAfterRecords: encryption.rekeyAfterRecords },
      { timeoutMs: handshakeTimeoutMs, closeTimeoutMs, incompleteFrameTimeoutMs, scheduler },
    );
    const closed = new Promise<void>((resolve) => secure.once('close', () => resolve()));
    let aborted = false;
    const attempt: Attempt = {
      connection: null,
      closed,
      abort: (reason) => {
        aborted = true;
        secure.abort(reason);
      },
    };
    this.attemptInFlight = attempt;
    const done = (): void => {
      if (this.attemptInFlight === attempt) this.attemptInFlight = null;
    };
    return secure.ready.then(
      () => {
        done();
        return secure as unknown as Socket;
      },
      (err: unknown) => {
        done();
        // The socket failed before the server answered: as for a plain connection, the server was not reached.
        if (!aborted && err instanceof ConnectionClosedError) throw new NotConnectedError(`could not connect to ${host}:${port}: ${err.message}`);
        throw err;
      },
    );
  }

  private connected(connection: Connection<S, C>): void {
    if (this.attemptInFlight?.connection === connection) this.attemptInFlight = null;
    if (connection.isClosed) {
      // It died between its handshake and now: count it as one more failed attempt.
      this.states.next('reconnecting');
      this.scheduleReconnect();
      return;
    }
    this.current = connection;
    this.attempt = 0;
    this.wasConnected = true;
    this.states.next('connected');
    this.flushQueue(connection);
  }

  private flushQueue(connection: Connection<S, C>): void {
    if (this.queue.size === 0) return;
    this.queue
      .flush((outgoing) => this.sendQueued(connection, outgoing))
      .then(() => this.flushed?.next())
      .catch(() => {
        // That packet's own promise carries its failure (too large, say). If the connection still
        // stands, the rest go on now; otherwise they wait for the next connection.
        if (this.current === connection && !connection.isClosed) this.flushQueue(connection);
      });
  }

  private onConnectionClosed(connection: Connection<S, C>, reason: string): void {
    if (this.current !== connection) return;
    this.current = null;
    // State first, news last: a subscriber that calls stop() or start() must find the state settled.
    const generation = this.generation;
    // A server that closed with `retry: false` (a kick that means it) is not reconnected to.
    if (!this.backoff.enabled || !connection.peerAllowsRetry) {
      this.states.next('closed');
      this.queue.rejectAll(new ConnectionClosedError(reason));
    } else {
      this.states.next('reconnecting');
      if (generation === this.generation) this.scheduleReconnect();
    }
    this.disconnects?.next(reason);
  }

  private scheduleReconnect(): void {
    if (this.attempt >= this.backoff.maxAttempts) {
      this.states.next('closed');
      this.queue.rejectAll(new ConnectionClosedError('reconnection attempts exhausted'));
      return;
    }
    const delayMs = backoffDelay(Math.min(this.attempt, 64), this.backoff, this.backoff.random);
    this.attempt++;
    this.attempts?.next({ attempt: this.attempt, delayMs });
    const generation = this.generation;
    this.retry = this.options.scheduler.schedule(() => {
      this.retry = null;
      this.connectOnce().then(
        (connection) => {
          if (generation !== this.generation) void connection.close('client stopping');
          else this.connected(connection);
        },
        (err: unknown) => {
          if (generation !== this.generation) return;
          if (err instanceof PnetworkError) this.router.report(err);
          if (err instanceof ConnectionRefusedError && !this.retryRefused) {
            // Refused: the same credential would be refused again, so stop here.
            this.states.next('closed');
            this.queue.rejectAll(new ConnectionClosedError(`refused by the server: ${err.remoteCode}`));
            return;
          }
          this.scheduleReconnect();
        },
      );
    }, delayMs);
  }
}
