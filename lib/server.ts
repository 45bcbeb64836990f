/**
 * The server: accepts sockets, runs the handshake pipeline on each, and owns `clients`.
 * @module
 */
import type { Server as NetServer, Socket } from 'node:net';
import { Observable, Subject } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { PROTOCOL_VERSION } from './defaults.js';
import { PnetworkError, aboutConnection } from './errors.js';
import { Connection, type ConnectionHooks } from './connection.js';
import { serverHandshake } from './operators/handshake.js';
import { resolveCommonOptions, type CommonOptions, type ResolvedCommonOptions } from './options.js';
import { createPacket, type Packet } from './protocol/packet.js';
import { Endpoint } from './endpoint.js';
import type { ActionMap, ActionName, AnyActions, DataOf, HostPort, InstanceStats, ReplyOf, RequestOptions, TrafficStats } from './types.js';
import { Cluster, type LocalClient, type LocalNode } from './cluster/cluster.js';
import { resolveClusterOptions, type ClusterOptions } from './cluster/cluster-options.js';
import type { ClusterClient } from './cluster/messages.js';
import { reportIfUnhandled } from './unhandled-failure.js';
import { refuseAction } from './protocol/packet.js';
import { refuseDelay } from './timing.js';

/** Options for {@link Server}: the common ones, and the adapter that joins it to servers in other processes. */
export type ServerOptions = CommonOptions & ClusterOptions;

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
 * @example
 * const server = new Server({ port: 0 });
 * server.bindAction('sum', ({ a, b }) => a + b);
 * await server.start();
 */
export class Server<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions> extends Endpoint<C, Connection<C, S>> {
  private readonly options: ResolvedCommonOptions;
  private readonly registered = new Map<string, Connection<C, S>>();
  private readonly open = new Set<Connection<C, S>>();
  private connections = new Subject<Connection<C, S>>();
  private disconnects = new Subject<DisconnectEvent<Connection<C, S>>>();
  private readonly departed: TrafficStats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  private netServer: NetServer | null = null;
  private starting: Promise<void> | null = null;
  private startedAt: number | null = null;
  /** Clients by public id, after their handshake. */
  private readonly byId = new Map<string, Connection<C, S>>();

  /** Connected clients by token, after their handshake. */
  readonly clients: ReadonlyMap<string, Connection<C, S>> = this.registered;
  /**
   * Each client, once its handshake completes. Completes when `stop()` is done, like `disconnect$`,
   * `packets$`, `error$` and every `action$`; after a restart, new subscriptions see the new run.
   */
  readonly connection$: Observable<Connection<C, S>> = new Observable((subscriber) => this.connections.subscribe(subscriber));
  /** Each registered client that leaves, with the reason. Completes when `stop()` is done. */
  readonly disconnect$: Observable<DisconnectEvent<Connection<C, S>>> = new Observable((subscriber) => this.disconnects.subscribe(subscriber));

  /** @param options host, port, limits and timeouts; see {@link CommonOptions} */
  constructor(options: ServerOptions = {}) {
    super();
    // The server numbers the streams it opens 2, 4, 6…, the client 1, 3, 5…
    this.options = { ...resolveCommonOptions(options), evenStreamIds: true };
    const { adapter, settings } = resolveClusterOptions(options, this.options.scheduler);
    this.cluster = new Cluster(adapter, this.localNode, settings);
  }

  /**
   * This server as a node of its cluster: its id, the nodes it sees, the adapter's state (`status`,
   * `status$`). With the default in-memory adapter it is a cluster of one.
   */
  readonly cluster: Cluster;

  /** True while listening. */
  get listening(): boolean {
    return this.netServer !== null;
  }

  /** Starts listening. Rejects if the address cannot be bound. Calling it again while it runs returns the same start. */
  start(): Promise<void> {
    if (this.netServer) return Promise.resolve();
    this.starting ??= new Promise<void>((resolve, reject) => {
      const netServer = this.options.transport.createServer((socket) => this.accept(socket));
      const onError = (err: Error): void => {
        this.starting = null;
        reject(err);
      };
      netServer.once('error', onError);
      netServer.listen(this.options.port, this.options.host, () => {
        netServer.off('error', onError);
        this.starting = null;
        this.netServer = netServer;
        this.startedAt = this.options.scheduler.now();
        resolve();
      });
    }).then(() => this.joinCluster());
    return this.starting;
  }

  /** Joins the cluster once listening; a cluster that cannot be joined undoes the listen, and start() rejects. */
  private async joinCluster(): Promise<void> {
    try {
      await this.cluster.start();
    } catch (err) {
      const netServer = this.netServer;
      this.netServer = null;
      this.startedAt = null;
      if (netServer) await new Promise<void>((resolve) => netServer.close(() => resolve()));
      throw err;
    }
  }

  /**
   * Stops gracefully: stops accepting, tells each client it is closing, lets packets already accepted
   * by `sendPacket` be written, and resolves when every socket has closed. Then `connection$`,
   * `disconnect$`, `packets$`, `error$` and every `action$` complete. Bound handlers stay bound: a
   * server may `start()` again, and subscriptions made after that see the new run's events.
   */
  async stop(reason = 'server stopping'): Promise<void> {
    // A stop during start() waits for it, so the listener it makes is closed too.
    if (this.starting) await this.starting.catch(() => undefined);
    const netServer = this.netServer;
    if (!netServer) return;
    this.netServer = null;
    // Leave the cluster first, so that no node sends this one more clients' packets.
    await this.cluster.stop();
    const closed = new Promise<void>((resolve) => netServer.close(() => resolve()));
    await Promise.all([...this.open].map((connection) => connection.close(reason)));
    await closed;
    this.startedAt = null;
    this.completeStreams();
  }

  /** Ends this run's streams; fresh subjects serve a later start(). */
  private completeStreams(): void {
    const [connections, disconnects] = [this.connections, this.disconnects];
    this.connections = new Subject<Connection<C, S>>();
    this.disconnects = new Subject<DisconnectEvent<Connection<C, S>>>();
    connections.complete();
    disconnects.complete();
    this.router.complete();
  }

  /** The bound address; the real port when 0 was asked for. */
  address(): HostPort {
    const address = this.netServer?.address();
    if (address && typeof address === 'object') return { host: address.address, port: address.port };
    return { host: this.options.host, port: this.options.port };
  }

  /** The client with this token, if connected. */
  getClient(token: string): Connection<C, S> | undefined {
    return this.registered.get(token);
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
   * could not be told (reported on error$ as well).
   */
  async broadcast<A extends ActionName<S>>(action: A, data: DataOf<S, A>, filter?: (connection: Connection<C, S>) => boolean): Promise<number> {
    const refused = refuseAction(action, this.options.maxActionLength);
    if (refused) throw refused;
    // Handled now and awaited below: it may fail while the local sends are still being written.
    const remote = filter ? null : this.cluster.broadcast(action, data, null, []);
    remote?.catch(() => undefined);
    const sends: Array<Promise<void>> = [];
    for (const connection of this.registered.values()) {
      if (!filter || filter(connection)) sends.push(connection.sendPacket(action, data));
    }
    const results = await Promise.allSettled(sends);
    await remote;
    return results.filter((result) => result.status === 'fulfilled').length;
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
    const refused = refuseAction(action, this.options.maxActionLength);
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
    const refused = refuseAction(action, this.options.maxActionLength) ?? (options.timeoutMs === undefined ? null : refuseDelay('timeoutMs', options.timeoutMs));
    if (refused) return reportIfUnhandled(Promise.reject(refused), this);
    return reportIfUnhandled(this.cluster.requestClient(connectionId, action, data, options.timeoutMs ?? this.options.requestTimeoutMs) as Promise<ReplyOf<S, A>>, this);
  }

  /** @internal A send or request failed and nobody handled its promise: reported on error$. */
  reportUnhandled(error: unknown): void {
    if (error instanceof PnetworkError) this.router.report(error);
  }

  /**
   * Every client of the cluster: id, node, address, rooms (never a token), this server's first. A node
   * that does not answer within `clusterTimeoutMs` is left out and reported on error$.
   * @throws (rejects) PublishError when the other nodes cannot be asked
   */
  async fetchClients(): Promise<ClusterClient[]> {
    const local = this.cluster.localClients();
    return [...local, ...(await this.cluster.fetchRemoteClients())];
  }

  /** Cumulative traffic since start, including clients that have left. */
  stats(): InstanceStats {
    const totals = { ...this.departed };
    for (const connection of this.open) addStats(totals, connection.stats);
    return { ...totals, startedAt: this.startedAt, clients: this.registered.size };
  }

  private accept(socket: Socket): void {
    const options = this.options;
    const handshake = serverHandshake({ timeoutMs: options.handshakeTimeoutMs, scheduler: options.scheduler, issueToken: uuidv4 });
    const connection = new Connection<C, S>(socket, options, handshake, this.hooks);
    this.open.add(connection);
    // A server that is stopping accepts nothing new.
    if (!this.netServer) void connection.close('server stopping');
  }

  /** One hooks object for every connection: an idle connection carries no closures of its own. */
  private readonly hooks: ConnectionHooks<Connection<C, S>> = {
    onHandshake: (connection, { token }) => {
      const options = this.options;
      this.registered.set(token, connection);
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
      this.connections.next(connection);
    },
    onPacket: (connection, packet) => this.router.dispatch(packet, connection),
    onError: (connection, error) => this.router.report(aboutConnection(error, connection)),
    onClose: (connection, reason) => {
      this.open.delete(connection);
      addStats(this.departed, connection.stats);
      if (connection.token && this.registered.get(connection.token) === connection) {
        this.registered.delete(connection.token);
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
    roomsOf: () => NO_ROOMS,
    deliver: (action, data, rooms) => {
      if (rooms !== null) return;
      for (const connection of this.registered.values()) void (connection as Connection).sendPacket(action, data);
    },
    report: (error) => this.router.report(error),
  };
}

/** The rooms a client is in: none until rooms exist. */
const NO_ROOMS: readonly string[] = [];

function addStats(into: TrafficStats, from: TrafficStats): void {
  into.packetsIn += from.packetsIn;
  into.packetsOut += from.packetsOut;
  into.bytesIn += from.bytesIn;
  into.bytesOut += from.bytesOut;
}
