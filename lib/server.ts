/**
 * The server: accepts sockets, runs the handshake pipeline on each, and owns `clients`.
 * @module
 */
import type { Socket } from 'node:net';
import { Observable, Subject, tap } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { DEFAULTS, PROTOCOL_VERSION } from './defaults.js';
import { ConnectionLimitError, ListenError, PnetworkError, PublishError, UnknownClientError, aboutConnection } from './errors.js';
import { refuseSocket } from './transport/refuse-socket.js';
import type { ConnectionHooks } from './connection.js';
import { HeartbeatGroup } from './liveness/heartbeat-monitor.js';
import { serverHandshakeRules, type HandshakeDone, type HandshakeRules } from './operators/handshake.js';
import { runMiddleware, type Middleware } from './middleware/run-middleware.js';
import { InMemoryRooms } from './rooms/in-memory-rooms.js';
import { checkRoomName, type RoomRegistry } from './rooms/room-registry.js';
import { RoomTarget, type RoomDelivery } from './rooms/room-target.js';
import { broadcastShared, fanOut } from './rooms/fan-out.js';
import { SharedPacket } from './protocol/shared-packet.js';
import { ServerConnection, type AnyData } from './server-connection.js';
import { countOrInfinity, resolveCommonOptions, type CommonOptions, type ResolvedCommonOptions } from './options.js';
import { createPacket, type Packet } from './protocol/packet.js';
import { Endpoint } from './endpoint.js';
import type { ActionMap, ActionName, AnyActions, DataOf, HostPort, InstanceStats, ReplyOf, RequestOptions, TrafficStats } from './types.js';
import { Cluster, type LocalClient, type LocalNode } from './cluster/cluster.js';
import { resolveClusterOptions, type ClusterOptions } from './cluster/cluster-options.js';
import type { ClusterClient } from './cluster/messages.js';
import { reportIfUnhandled, type UnhandledReporter } from './unhandled-failure.js';
import { refuseAction } from './protocol/packet.js';
import { refuseDelay } from './timing.js';
import { closeListener, createListener, type Listener } from './transport/sockets.js';
import { resolveServerTls, type ResolvedServerTls, type ServerTlsOptions } from './transport/tls-options.js';
import { resolveServerEncryption, type ResolvedServerEncryption, type ServerEncryptionOptions } from './crypto/channel/channel-options.js';
import { SecureSocket, type ServerChannelConfig } from './transport/secure-socket.js';

/** How many connections a server holds at once. */
export interface ConnectionLimitOptions {
  /**
   * Connections held at once, before and after their handshake. One more is refused with an
   * `ERR_CONNECTION_LIMIT` error packet and closed, and reported on `error$` (with TLS it is counted from
   * its TCP accept, and one over the limit is closed before any TLS, unanswered). @defaultValue 10 000
   */
  maxConnections?: number;
  /** Connections held at once from one IP address, refused the same way. @defaultValue Infinity (off) */
  maxConnectionsPerAddress?: number;
}

/** Options for {@link Server}: the common ones, the adapter that joins it to servers in other processes, and where rooms are kept. */
export interface ServerOptions extends CommonOptions, ClusterOptions, ConnectionLimitOptions {
  /**
   * Where room membership is kept. @defaultValue a new {@link InMemoryRooms} (this process only);
   * a registry shared by several processes implements the same {@link RoomRegistry} interface.
   */
  rooms?: RoomRegistry<ServerConnection<any, any, any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Serve TLS 1.3 instead of plain TCP, with these keys (and optionally client certificates). @defaultValue plain TCP: packets and tokens travel in clear text */
  tls?: ServerTlsOptions;
  /**
   * Speak the secure channel (forward secret, the server pinned by its RSA key; see docs/security.md)
   * over plain TCP: every client must use `encryption` too. Not together with `tls`.
   * @defaultValue off: packets and tokens travel in clear text
   */
  encryption?: ServerEncryptionOptions;
}

/** Why a client left. */
export interface DisconnectEvent<C> {
  /** The connection that closed. */
  readonly connection: C;
  /** Why it closed. */
  readonly reason: string;
}

/**
 * A pnetwork server.
 * @typeParam C actions clients send (the server binds them)
 * @typeParam S actions the server sends (clients bind them)
 * @typeParam Data the type of each connection's `data`
 * @typeParam Auth the type middleware expects the handshake's `auth` to have
 * @example
 * const server = new Server({ port: 0 });
 * server.bindAction('sum', ({ a, b }) => a + b);
 * await server.start();
 */
export class Server<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions, Data extends object = AnyData, Auth = unknown> extends Endpoint<
  C,
  ServerConnection<C, S, Data, Auth>
> {
  // # fields, so that a logger printing this object (util.inspect) does not show its keys.
  readonly #tls: ResolvedServerTls | null;
  readonly #encryption: (ResolvedServerEncryption & ServerChannelConfig) | null;
  /** Sockets still in the secure channel's key exchange: counted against the limits, given up by stop(). */
  private readonly exchanging = new Set<SecureSocket>();
  private readonly options: ResolvedCommonOptions;
  // A # field read through a getter, so that a logger printing the server (util.inspect) shows no token.
  readonly #registered = new Map<string, ServerConnection<C, S, Data, Auth>>();
  private readonly open = new Set<ServerConnection<C, S, Data, Auth>>();
  private connections = new Subject<ServerConnection<C, S, Data, Auth>>();
  private disconnects = new Subject<DisconnectEvent<ServerConnection<C, S, Data, Auth>>>();
  private readonly departed: TrafficStats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  private listener: Listener | null = null;
  /** The start or stop under way, or queued last: a later call runs after it. */
  private transition: { readonly kind: 'start' | 'stop'; readonly done: Promise<void> } | null = null;
  private startedAt: number | null = null;
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  /** Open connections per IP address, kept only while maxConnectionsPerAddress is on. */
  private readonly perAddress = new Map<string, number>();
  /** Clients by public id, after their handshake. */
  private readonly byId = new Map<string, ServerConnection<C, S, Data, Auth>>();
  private readonly middleware: Array<Middleware<ServerConnection<C, S, Data, Auth>, Auth>> = [];
  private readonly refused = new Map<string, number>();
  private readonly delivery: RoomDelivery<ServerConnection<C, S, Data, Auth>>;

  /** Connected clients by token, after their handshake. */
  get clients(): ReadonlyMap<string, ServerConnection<C, S, Data, Auth>> {
    return this.#registered;
  }
  /**
   * Each client, once its handshake completes. Completes when `stop()` is done, like `disconnect$`,
   * `packets$`, `error$` and every `action$`; after a restart, new subscriptions see the new run.
   */
  readonly connection$: Observable<ServerConnection<C, S, Data, Auth>> = new Observable((subscriber) => this.connections.subscribe(subscriber));
  /** Room membership of this server's connections. */
  readonly rooms: RoomRegistry<ServerConnection<C, S, Data, Auth>>;
  /** Each registered client that leaves, with the reason. Completes when `stop()` is done. */
  readonly disconnect$: Observable<DisconnectEvent<ServerConnection<C, S, Data, Auth>>> = new Observable((subscriber) => this.disconnects.subscribe(subscriber));

  /** @param options host, port, limits and timeouts; see {@link CommonOptions} */
  constructor(options: ServerOptions = {}) {
    super();
    // The server numbers the streams it opens 2, 4, 6…, the client 1, 3, 5…
    this.options = { ...resolveCommonOptions(options), evenStreamIds: true };
    this.#tls = resolveServerTls(options.tls);
    const encryption = resolveServerEncryption(options.encryption);
    // The channel refuses a client with an error packet in the server's own codec.
    this.#encryption = encryption && { ...encryption, codec: this.options.codec };
    if (this.#tls && this.#encryption) throw new RangeError('choose one of tls and encryption: the secure channel needs no TLS below it');
    this.maxConnections = countOrInfinity('maxConnections', options.maxConnections ?? DEFAULTS.maxConnections);
    this.maxPerAddress = countOrInfinity('maxConnectionsPerAddress', options.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress);
    const { adapter, settings } = resolveClusterOptions(options, this.options.scheduler);
    this.cluster = new Cluster(adapter, this.localNode, settings);
    this.rooms = options.rooms ?? new InMemoryRooms();
    const maxActionLength = this.options.maxActionLength;
    this.delivery = {
      registry: this.rooms,
      prepare: (action, data) => this.sharedPacket(action, data),
      broadcast: broadcastShared,
      refuse: (action) => refuseAction(action, maxActionLength),
      publish: (action, data, rooms, except) => this.publishBroadcast(action, data, rooms, except),
      reporter: this.broadcastReporter,
    };
  }

  /**
   * Adds a middleware: `fn(connection, auth)` runs for every new connection after the protocol checks
   * and before it is registered, appears in `clients` or `connection$`, or receives its token.
   * Middleware run in the order added; one that throws or rejects refuses the connection (see
   * {@link Middleware}). Together they have `handshakeTimeoutMs` to finish.
   * @returns this server, to chain calls
   */
  use(fn: Middleware<ServerConnection<C, S, Data, Auth>, Auth>): this {
    if (typeof fn !== 'function') throw new TypeError(`server.use() takes a function, got ${typeof fn}`);
    this.middleware.push(fn);
    return this;
  }

  /**
   * A target for the members of these rooms: `server.to('lobby').except('muted').broadcast(…)`.
   * @throws TypeError for a room name that is not a non-empty string
   */
  to(room: string, ...rooms: string[]): RoomTarget<ServerConnection<C, S, Data, Auth>, S> {
    return new RoomTarget<ServerConnection<C, S, Data, Auth>, S>(this.delivery, [room, ...rooms].map(checkRoomName));
  }

  /** Handshakes refused so far (by middleware, or for taking too long), by code. */
  refusals(): ReadonlyMap<string, number> {
    return this.refused;
  }

  /**
   * This server as a node of its cluster: its id, the nodes it sees, the adapter's state (`status`,
   * `status$`). With the default in-memory adapter it is a cluster of one.
   */
  readonly cluster: Cluster;

  /** True when the server serves TLS 1.3 (`tls`) or the secure channel (`encryption`), false for plain TCP. */
  get encrypted(): boolean {
    return this.#tls !== null || this.#encryption !== null;
  }

  /** How connections to this server are protected: `'tls'`, `'channel'` (the secure channel) or `'plain'`. */
  get security(): 'tls' | 'channel' | 'plain' {
    return this.#tls ? 'tls' : this.#encryption ? 'channel' : 'plain';
  }

  /** The fingerprint clients pin (base64 SHA-256 of the server key's SPKI); null for plain TCP. */
  get fingerprint(): string | null {
    return this.#tls?.fingerprint ?? this.#encryption?.fingerprint ?? null;
  }

  /** True while listening. */
  get listening(): boolean {
    return this.listener !== null;
  }

  /**
   * Starts listening. Calling it again while it runs returns the same start. `start()` and `stop()`
   * called without waiting for each other take effect in the order called: a `stop()` during a start
   * waits for it and then stops, a `start()` during a stop waits for it and then starts again.
   * @throws (rejects) ListenError when the address cannot be bound (taken, not this machine's, no permission)
   */
  start(): Promise<void> {
    if (this.transition?.kind === 'start') return this.transition.done;
    if (this.transition === null && this.listener) return Promise.resolve();
    return this.queueTransition('start', () => this.startNow());
  }

  /** Runs `run` after the start or stop in progress (whatever its outcome); the last one queued is kept. */
  private queueTransition(kind: 'start' | 'stop', run: () => Promise<void>): Promise<void> {
    const before = this.transition?.done.catch(() => undefined) ?? Promise.resolve();
    const transition = { kind, done: before.then(run) };
    this.transition = transition;
    const settled = (): void => {
      if (this.transition === transition) this.transition = null;
    };
    transition.done.then(settled, settled);
    return transition.done;
  }

  /** Listens, then joins the cluster: one promise, so that a stop() meanwhile waits for both. */
  private async startNow(): Promise<void> {
    if (this.listener) return;
    await this.listen();
    await this.joinCluster();
  }

  /** Binds the address; rejects with ListenError when it cannot. */
  private listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { closeTimeoutMs, handshakeTimeoutMs, codec, scheduler } = this.options;
      const listener = createListener(
        this.#tls,
        {
          onSocket: (socket) => this.accept(socket),
          onRefused: (error) => this.router.report(error),
          onTcpConnection: (raw) => this.overLimit(raw),
          onTcpGone: (host) => {
            if (this.maxPerAddress !== Number.POSITIVE_INFINITY) this.leaveAddress(host);
          },
        },
        { closeTimeoutMs, handshakeTimeoutMs, codec, scheduler },
        this.options.transport,
      );
      const netServer = listener.server;
      const onError = (err: Error): void => reject(new ListenError(this.options.host, this.options.port, err));
      netServer.once('error', onError);
      netServer.listen(this.options.port, this.options.host, () => {
        netServer.off('error', onError);
        this.listener = listener;
        this.startedAt = this.options.scheduler.now();
        resolve();
      });
    });
  }

  /** Joins the cluster once listening; a cluster that cannot be joined undoes the listen, and start() rejects. */
  private async joinCluster(): Promise<void> {
    try {
      await this.cluster.start();
    } catch (err) {
      const listener = this.listener;
      this.listener = null;
      this.startedAt = null;
      if (listener) await closeListener(listener);
      throw err;
    }
  }

  /**
   * Stops gracefully: stops accepting, tells each client it is closing, lets packets already accepted
   * by `sendPacket` be written, and resolves when every socket has closed. Then `connection$`,
   * `disconnect$`, `packets$`, `error$` and every `action$` complete. Bound handlers stay bound: a
   * server may `start()` again, and subscriptions made after that see the new run's events.
   */
  stop(reason = 'server stopping'): Promise<void> {
    if (this.transition?.kind === 'stop') return this.transition.done;
    if (this.transition === null && !this.listener) return Promise.resolve();
    return this.queueTransition('stop', () => this.stopNow(reason));
  }

  private async stopNow(reason: string): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    // Leave the cluster first, so that no node sends this one more clients' packets.
    await this.cluster.stop();
    const closed = closeListener(listener);
    for (const secure of [...this.exchanging]) secure.abort(reason);
    await Promise.all([...this.open].map((connection) => connection.close(reason)));
    await closed;
    this.startedAt = null;
    // A turn of the event loop first: failures the stop caused in calls nobody awaits (reported a turn
    // after their rejection, see unhandled-failure.ts) reach error$ before it completes.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.completeStreams();
  }

  /** Ends this run's streams; fresh subjects serve a later start(). */
  private completeStreams(): void {
    const [connections, disconnects] = [this.connections, this.disconnects];
    this.connections = new Subject<ServerConnection<C, S, Data, Auth>>();
    this.disconnects = new Subject<DisconnectEvent<ServerConnection<C, S, Data, Auth>>>();
    connections.complete();
    disconnects.complete();
    this.router.complete();
  }

  /** The bound address; the real port when 0 was asked for. */
  address(): HostPort {
    const address = this.listener?.server.address();
    if (address && typeof address === 'object') return { host: address.address, port: address.port };
    return { host: this.options.host, port: this.options.port };
  }

  /** The client with this token, if connected. */
  getClient(token: string): ServerConnection<C, S, Data, Auth> | undefined {
    return this.#registered.get(token);
  }

  /** A packet with this server's clock; its token is filled per recipient when sent. */
  createPacket<A extends ActionName<S>>(action: A, data: DataOf<S, A>): Packet<A, DataOf<S, A>> {
    return createPacket(action, data, null, this.options.scheduler.now());
  }

  /**
   * Sends one action to every connected client (or those `filter` accepts). Each client receives its
   * own token only. Resolves with the number of clients **of this server** the packet was handed to.
   * With an adapter, and no `filter` (a function cannot travel), every other node of the cluster
   * delivers it to its own clients too; the call then rejects with PublishError when the other nodes
   * could not be told (reported on error$ as well). The packet is encoded once for every recipient. A
   * server that is not started (or has stopped) has no clients and has left its cluster: it resolves 0.
   * @throws (rejects) ReservedActionError, or PacketError / FrameTooLargeError when the packet cannot be
   * encoded or is larger than `maxFrameBytes` (then it is sent to no one)
   */
  broadcast<A extends ActionName<S>>(action: A, data: DataOf<S, A>, filter?: (connection: ServerConnection<C, S, Data, Auth>) => boolean): Promise<number> {
    // A broadcast nobody awaits must neither crash the process nor fail in silence.
    return reportIfUnhandled(this.broadcastNow(action, data, filter), this.broadcastReporter);
  }

  /** What a broadcast or fetchClients() nobody awaited failed with goes to error$, unless the cluster reported it already. */
  private readonly broadcastReporter: UnhandledReporter = {
    reportUnhandled: (error) => {
      if (!(error instanceof PublishError)) this.reportUnhandled(error);
    },
  };

  private async broadcastNow(action: string, data: unknown, filter?: (connection: ServerConnection<C, S, Data, Auth>) => boolean): Promise<number> {
    const refused = refuseAction(action, this.options.maxActionLength);
    if (refused) throw refused;
    const shared = this.sharedPacket(action, data);
    const remote = filter ? null : this.publishBroadcast(action, data, null, []);
    const recipients = filter ? [...this.#registered.values()].filter(filter) : this.#registered.values();
    return broadcastShared(recipients, shared, remote);
  }

  /** Hands a broadcast to the other nodes; null when this server is stopped (it has left the cluster). */
  private publishBroadcast(action: string, data: unknown, rooms: readonly string[] | null, except: readonly string[]): Promise<void> | null {
    return this.listener ? this.cluster.broadcast(action, data, rooms, except) : null;
  }

  /**
   * One packet for many of this server's clients, checked and encoded once.
   * @throws PacketError when it cannot be encoded; FrameTooLargeError when it is larger than maxFrameBytes
   */
  private sharedPacket(action: string, data: unknown): SharedPacket {
    const { codec, scheduler, maxFrameBytes } = this.options;
    return new SharedPacket(codec, action, data, scheduler.now(), maxFrameBytes);
  }

  /**
   * Sends one action to the client with this public id (`connection.id`), on whichever node of the
   * cluster it is connected to. Resolves once its node has handed the packet to the socket.
   * @throws (rejects) UnknownClientError when no node has it; PublishError, ClusterTimeoutError when
   * the other nodes cannot be reached; whatever `connection.sendPacket` rejects with on its node
   */
  sendTo<A extends ActionName<S>>(connectionId: string, action: A, data: DataOf<S, A>): Promise<void> {
    const local = this.byId.get(connectionId);
    if (local) return local.sendPacket(action, data);
    const refused = refuseAction(action, this.options.maxActionLength) ?? refuseRemoteId(connectionId);
    return reportIfUnhandled(refused ? Promise.reject(refused) : this.cluster.sendTo(connectionId, action, data), this);
  }

  /**
   * Sends a request to the client with this public id, on whichever node it is connected to, and
   * resolves with the client's reply. Rejects as `connection.request` does (RequestTimeoutError,
   * RemoteError), and as {@link Server.sendTo} does when the client cannot be reached.
   */
  requestClient<A extends ActionName<S>>(connectionId: string, action: A, data: DataOf<S, A>, options: RequestOptions = {}): Promise<ReplyOf<S, A>> {
    const local = this.byId.get(connectionId);
    if (local) return local.request(action, data, options);
    const refused = refuseAction(action, this.options.maxActionLength) ?? refuseRemoteId(connectionId) ?? (options.timeoutMs === undefined ? null : refuseDelay('timeoutMs', options.timeoutMs));
    if (refused) return reportIfUnhandled(Promise.reject(refused), this);
    return reportIfUnhandled(this.cluster.requestClient(connectionId, action, data, options.timeoutMs ?? this.options.requestTimeoutMs) as Promise<ReplyOf<S, A>>, this);
  }

  /** @internal A send or request failed and nobody handled its promise: reported on error$. */
  reportUnhandled(error: unknown): void {
    if (error instanceof PnetworkError) this.router.report(error);
  }

  /**
   * Every client of the cluster: id, node, address, rooms (never a token), this server's first. A node
   * that does not answer within `clusterTimeoutMs` is left out and reported on error$. A failure that
   * nobody handles (the promise is dropped) is reported on error$.
   * @throws (rejects) PublishError when the other nodes cannot be asked
   */
  fetchClients(): Promise<ClusterClient[]> {
    const local = this.cluster.localClients();
    // Watched as a send is: a failure nobody handles is reported on error$.
    return reportIfUnhandled(
      this.cluster.fetchRemoteClients().then((remote) => [...local, ...remote]),
      // The cluster has reported a PublishError already: once is enough.
      this.broadcastReporter,
    );
  }

  /** Cumulative traffic since start, including clients that have left. */
  stats(): InstanceStats {
    const totals = { ...this.departed };
    for (const connection of this.open) addStats(totals, connection.stats);
    return { ...totals, startedAt: this.startedAt, clients: this.#registered.size };
  }

  private accept(socket: Socket): void {
    const options = this.options;
    // A TLS connection was counted in when its TCP connection arrived, before the TLS handshake.
    const refusal = this.#tls ? null : this.overLimit(socket);
    if (refusal !== null) {
      refuseSocket(socket, refusal, options.codec, options.closeTimeoutMs, options.scheduler);
      refusal.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      this.router.report(refusal);
      return;
    }
    if (this.#encryption) this.exchangeKeys(socket, this.#encryption);
    else this.startConnection(socket);
  }

  /** Runs the secure channel's key exchange, then the connection over it; a failed exchange is reported. */
  private exchangeKeys(socket: Socket, encryption: ServerChannelConfig): void {
    const { handshakeTimeoutMs, closeTimeoutMs, incompleteFrameTimeoutMs, scheduler } = this.options;
    const address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const secure = SecureSocket.accept(socket, encryption, { timeoutMs: handshakeTimeoutMs, closeTimeoutMs, incompleteFrameTimeoutMs, scheduler });
    this.exchanging.add(secure);
    secure.ready.then(
      () => {
        this.exchanging.delete(secure);
        this.startConnection(secure as unknown as Socket);
      },
      (err: unknown) => {
        this.exchanging.delete(secure);
        if (this.maxPerAddress !== Number.POSITIVE_INFINITY) this.leaveAddress(hostOf(address));
        if (err instanceof PnetworkError) {
          err.remoteAddress ??= address;
          this.router.report(err);
        }
      },
    );
  }

  /** Runs the pnetwork pipeline on a socket that passed the limits (and the key exchange, if any). */
  private startConnection(socket: Socket): void {
    this.handshakeRules ??= serverHandshakeRules({
      timeoutMs: this.options.handshakeTimeoutMs,
      scheduler: this.options.scheduler,
      issueToken: uuidv4,
      admit: (done, connection: ServerConnection<C, S, Data, Auth>) => this.admit(connection, done),
    });
    const connection = new ServerConnection<C, S, Data, Auth>(socket, this.options, this.handshakeRules, this.hooks, this.rooms);
    this.open.add(connection);
    // A server that is stopping accepts nothing new.
    if (!this.listener) void connection.close('server stopping');
  }

  /** The limit a new socket would break, counting it in if it breaks none. */
  private overLimit(socket: Socket): ConnectionLimitError | null {
    const held = this.open.size + this.exchanging.size + (this.listener?.handshaking ?? 0);
    if (held >= this.maxConnections) return new ConnectionLimitError(this.maxConnections, 'server');
    if (this.maxPerAddress === Number.POSITIVE_INFINITY) return null;
    const host = socket.remoteAddress ?? '?';
    const count = this.perAddress.get(host) ?? 0;
    if (count >= this.maxPerAddress) return new ConnectionLimitError(this.maxPerAddress, 'address');
    this.perAddress.set(host, count + 1);
    return null;
  }

  private leaveAddress(host: string): void {
    const count = (this.perAddress.get(host) ?? 1) - 1;
    if (count > 0) this.perAddress.set(host, count);
    else this.perAddress.delete(host);
  }

  /** Runs the middleware on a handshake that passed the protocol checks; null when there are none. */
  private admit(connection: ServerConnection<C, S, Data, Auth>, done: HandshakeDone): Observable<never> | null {
    const auth = done.data.auth as Auth | undefined;
    connection.setAuth(auth);
    if (this.middleware.length === 0) return null;
    const { handshakeTimeoutMs, scheduler } = this.options;
    return runMiddleware([...this.middleware], connection, auth, { timeoutMs: handshakeTimeoutMs, scheduler }).pipe(
      tap({ error: (err: unknown) => this.countRefusal(err) }),
    );
  }

  private countRefusal(err: unknown): void {
    const code = err instanceof PnetworkError ? err.code : 'ERR_UNAUTHORIZED';
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  /** The handshake's rules, made once: every connection's gate shares them. */
  private handshakeRules: HandshakeRules<ServerConnection<C, S, Data, Auth>> | null = null;

  /** Every connection's heartbeat on one timer, made with the first. */
  private heartbeats: HeartbeatGroup | null = null;

  /** One hooks object for every connection: an idle connection carries no closures of its own. */
  private readonly hooks: ConnectionHooks<ServerConnection<C, S, Data, Auth>> = {
    heartbeatGroup: () => {
      const { heartbeatIntervalMs, heartbeatTimeoutMs, scheduler } = this.options;
      return (this.heartbeats ??= new HeartbeatGroup({ intervalMs: heartbeatIntervalMs, timeoutMs: heartbeatTimeoutMs }, scheduler));
    },
    onHandshake: (connection, { token }) => {
      const options = this.options;
      connection.admit();
      this.#registered.set(token, connection);
      this.byId.set(connection.id, connection);
      connection
        .sendControl({
          action: 'handshake',
          data: {
            token,
            protocol: PROTOCOL_VERSION,
            heartbeatIntervalMs: options.heartbeatIntervalMs,
            heartbeatTimeoutMs: options.heartbeatTimeoutMs,
            maxFrameBytes: options.maxFrameBytes,
            streams: true,
          },
          'packet-created': options.scheduler.now(),
          token,
        })
        .catch((err: unknown) => {
          // Without its reply the client cannot proceed: report why, and let it go.
          if (err instanceof PnetworkError) this.router.report(aboutConnection(err, connection));
          void connection.close('handshake reply could not be sent');
        });
      // What middleware sent goes next, before anything connection$ subscribers send.
      connection.releaseHeld();
      this.connections.next(connection);
    },
    onPacket: (connection, packet) => this.router.dispatch(packet, connection),
    onError: (connection, error) => this.router.report(aboutConnection(error, connection)),
    onClose: (connection, reason) => {
      this.open.delete(connection);
      connection.leaveAllRooms();
      if (this.maxPerAddress !== Number.POSITIVE_INFINITY) this.leaveAddress(hostOf(connection.remoteAddress));
      addStats(this.departed, connection.stats);
      if (connection.token && this.#registered.get(connection.token) === connection) {
        this.#registered.delete(connection.token);
        this.byId.delete(connection.id);
        this.disconnects.next({ connection, reason });
      }
    },
  };

  /** This server's side of the cluster: what other nodes may ask of its clients. */
  private readonly localNode: LocalNode = {
    address: () => {
      const { host, port } = this.address();
      return `${host}:${port}`;
    },
    find: (id) => this.byId.get(id) as LocalClient | undefined,
    clients: () => this.byId.values() as Iterable<LocalClient>,
    roomsOf: (client) => (client as ServerConnection<C, S, Data, Auth>).rooms,
    deliver: (action, data, rooms, except) => {
      // From another node: to this node's members of `rooms` (every client when null), minus `except`.
      const members = rooms === null ? this.#registered.values() : this.rooms.select(rooms, except);
      const recipients = rooms === null && except.length > 0 ? [...members].filter((connection) => !except.some((room) => connection.rooms.has(room))) : members;
      let shared: SharedPacket;
      try {
        shared = this.sharedPacket(action, data);
      } catch (err) {
        // Sent by another node, so no caller here hears it: the node's error$ does.
        if (err instanceof PnetworkError) this.router.report(err);
        return;
      }
      void fanOut(recipients, shared);
    },
    report: (error) => this.router.report(error),
  };
}

/** The rooms a client is in: none until rooms exist. */

/** The host part of `host:port` (an IPv6 host keeps its colons). */
function hostOf(remoteAddress: string): string {
  return remoteAddress.slice(0, remoteAddress.lastIndexOf(':'));
}

function addStats(into: TrafficStats, from: TrafficStats): void {
  into.packetsIn += from.packetsIn;
  into.packetsOut += from.packetsOut;
  into.bytesIn += from.bytesIn;
  into.bytesOut += from.bytesOut;
}

/** A connection's public id: 16 hex digits (Connection.id). */
const CONNECTION_ID = /^[0-9a-f]{16}$/;

/**
 * Refuses what cannot be another node's connection id before anything is published: a token passed by
 * mistake would otherwise travel to the engine and every node.
 */
function refuseRemoteId(connectionId: string): UnknownClientError | null {
  // Not echoed either: it may be a token.
  return typeof connectionId === 'string' && CONNECTION_ID.test(connectionId) ? null : new UnknownClientError('(not a connection id)');
}
