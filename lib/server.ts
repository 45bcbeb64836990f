/**
 * The server: accepts sockets, runs the handshake pipeline on each, and owns `clients`.
 * @module
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { PROTOCOL_VERSION } from './defaults.js';
import { PnetworkError, aboutConnection } from './errors.js';
import { Connection, type ConnectionHooks } from './connection.js';
import { serverHandshake } from './operators/handshake.js';
import { resolveCommonOptions, type CommonOptions, type ResolvedCommonOptions } from './options.js';
import { createPacket, type Packet } from './protocol/packet.js';
import { Endpoint } from './endpoint.js';
import type { ActionMap, ActionName, AnyActions, DataOf, HostPort, InstanceStats, TrafficStats } from './types.js';

/** Options for {@link Server}. */
export type ServerOptions = CommonOptions;

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
  private readonly connections = new Subject<Connection<C, S>>();
  private readonly disconnects = new Subject<DisconnectEvent<Connection<C, S>>>();
  private readonly departed: TrafficStats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  private netServer: NetServer | null = null;
  private starting: Promise<void> | null = null;
  private startedAt: number | null = null;

  /** Connected clients by token, after their handshake. */
  readonly clients: ReadonlyMap<string, Connection<C, S>> = this.registered;
  /** Each client, once its handshake completes. */
  readonly connection$: Observable<Connection<C, S>> = this.connections.asObservable();
  /** Each registered client that leaves, with the reason. */
  readonly disconnect$: Observable<DisconnectEvent<Connection<C, S>>> = this.disconnects.asObservable();

  /** @param options host, port, limits and timeouts; see {@link CommonOptions} */
  constructor(options: ServerOptions = {}) {
    super();
    this.options = resolveCommonOptions(options);
  }

  /** True while listening. */
  get listening(): boolean {
    return this.netServer !== null;
  }

  /** Starts listening. Rejects if the address cannot be bound. Calling it again while it runs returns the same start. */
  start(): Promise<void> {
    if (this.netServer) return Promise.resolve();
    this.starting ??= new Promise<void>((resolve, reject) => {
      const netServer = createServer((socket) => this.accept(socket));
      const onError = (err: Error): void => {
        this.starting = null;
        reject(err);
      };
      netServer.once('error', onError);
      netServer.listen(this.options.port, this.options.host, () => {
        netServer.off('error', onError);
        this.starting = null;
        this.netServer = netServer;
        this.startedAt = Date.now();
        resolve();
      });
    });
    return this.starting;
  }

  /**
   * Stops gracefully: stops accepting, tells each client it is closing, lets packets already accepted
   * by `sendPacket` be written, and resolves when every socket has closed.
   */
  async stop(reason = 'server stopping'): Promise<void> {
    // A stop during start() waits for it, so the listener it makes is closed too.
    if (this.starting) await this.starting.catch(() => undefined);
    const netServer = this.netServer;
    if (!netServer) return;
    this.netServer = null;
    const closed = new Promise<void>((resolve) => netServer.close(() => resolve()));
    await Promise.all([...this.open].map((connection) => connection.close(reason)));
    await closed;
    this.startedAt = null;
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
    return createPacket(action, data, null);
  }

  /**
   * Sends one action to every connected client (or those `filter` accepts). Each client receives its
   * own token only. Resolves with the number of clients the packet was handed to.
   */
  async broadcast<A extends ActionName<S>>(action: A, data: DataOf<S, A>, filter?: (connection: Connection<C, S>) => boolean): Promise<number> {
    const sends: Array<Promise<void>> = [];
    for (const connection of this.registered.values()) {
      if (!filter || filter(connection)) sends.push(connection.sendPacket(action, data));
    }
    const results = await Promise.allSettled(sends);
    return results.filter((result) => result.status === 'fulfilled').length;
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
      connection
        .sendControl({
          action: 'handshake',
          data: {
            token,
            protocol: PROTOCOL_VERSION,
            heartbeatIntervalMs: options.heartbeatIntervalMs,
            heartbeatTimeoutMs: options.heartbeatTimeoutMs,
            maxFrameBytes: options.maxFrameBytes,
          },
          'packet-created': Date.now(),
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
        this.disconnects.next({ connection, reason });
      }
    },
  };
}

function addStats(into: TrafficStats, from: TrafficStats): void {
  into.packetsIn += from.packetsIn;
  into.packetsOut += from.packetsOut;
  into.bytesIn += from.bytesIn;
  into.bytesOut += from.bytesOut;
}
