/**
 * The client: connects, handshakes, and exposes the same routing API as the server.
 * @module
 */
import { connect, type Socket } from 'node:net';
import { BehaviorSubject, type Observable } from 'rxjs';
import { PROTOCOL_VERSION } from './defaults.js';
import { NotConnectedError, PnetworkError } from './errors.js';
import { Connection } from './connection.js';
import { clientHandshake } from './operators/handshake.js';
import { resolveCommonOptions, type CommonOptions, type ResolvedCommonOptions } from './options.js';
import { createPacket, type Packet } from './protocol/packet.js';
import { ActionRouter, type Handler } from './router.js';
import type { Bind } from './bind.js';
import type {
  ActionMap,
  ActionName,
  AnyActions,
  Binding,
  DataOf,
  Envelope,
  HandlerResult,
  InstanceStats,
  ReplyOf,
  RequestOptions,
} from './types.js';

/** A client's connection state. */
export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Options for {@link Client}. */
export type ClientOptions = CommonOptions;

/**
 * A pnetwork client.
 * @typeParam C actions clients send (the server binds them)
 * @typeParam S actions the server sends (this client binds them)
 * @example
 * const client = new Client({ port: 25565 });
 * await client.start();
 * const sum = await client.request('sum', { a: 1, b: 2 });
 */
export class Client<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions> {
  private readonly options: ResolvedCommonOptions;
  private readonly router = new ActionRouter<Connection<S, C>>();
  private readonly states = new BehaviorSubject<ClientState>('closed');
  private current: Connection<S, C> | null = null;
  private startedAt: number | null = null;

  /** The connection state; replays the current state to each subscriber. */
  readonly state$: Observable<ClientState> = this.states.asObservable();
  /** Every accepted packet from the server. */
  readonly packets$: Observable<Envelope<Connection<S, C>>> = this.router.packets$;
  /** Refused packets, handler failures, error packets from the server and connection failures. */
  readonly error$: Observable<PnetworkError> = this.router.error$;

  /** @param options host, port, limits and timeouts; see {@link CommonOptions} */
  constructor(options: ClientOptions = {}) {
    this.options = resolveCommonOptions(options);
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
  address(): { host: string; port: number } {
    return { host: this.options.host, port: this.options.port };
  }

  /** Connects and resolves once the handshake is done and `token` is set. */
  async start(): Promise<void> {
    if (this.current) return;
    this.states.next('connecting');
    try {
      this.current = await this.connectOnce();
    } catch (err) {
      this.states.next('closed');
      throw err;
    }
    this.startedAt = Date.now();
    this.states.next('connected');
  }

  /** Closes the connection gracefully; resolves once the socket has closed. */
  async stop(reason = 'client stopping'): Promise<void> {
    const connection = this.current;
    this.current = null;
    if (connection) await connection.close(reason);
    this.states.next('closed');
  }

  /** Drops the current connection and connects again (a new token is issued). */
  async reconnect(): Promise<void> {
    await this.stop('client reconnecting');
    await this.start();
  }

  /** A packet carrying this client's token. */
  createPacket<A extends ActionName<C>>(action: A, data: DataOf<C, A>): Packet<A, DataOf<C, A>> {
    return createPacket(action, data, this.token);
  }

  /** Sends a packet to the server; see {@link Connection.sendPacket}. */
  sendPacket<A extends ActionName<C>>(action: A, data: DataOf<C, A>): Promise<void>;
  sendPacket(packet: Packet): Promise<void>;
  sendPacket(actionOrPacket: string | Packet, data?: unknown): Promise<void> {
    const connection = this.current;
    if (!connection) return Promise.reject(new NotConnectedError());
    return typeof actionOrPacket === 'string'
      ? connection.sendPacket(actionOrPacket as ActionName<C>, data as DataOf<C, ActionName<C>>)
      : connection.sendPacket(actionOrPacket);
  }

  /** Sends a request to the server and resolves with the reply; see {@link Connection.request}. */
  request<A extends ActionName<C>>(action: A, data: DataOf<C, A>, options?: RequestOptions): Promise<ReplyOf<C, A>> {
    const connection = this.current;
    if (!connection) return Promise.reject(new NotConnectedError());
    return connection.request(action, data, options);
  }

  /**
   * Binds a handler to an action sent by the server. Returns a handle whose `unsubscribe()` unbinds it.
   * @throws ReservedActionError for a reserved action name
   */
  bindAction<A extends ActionName<S>>(
    action: A,
    handler:
      | ((data: DataOf<S, A>, packet: Packet<A, DataOf<S, A>>, connection: Connection<S, C>) => HandlerResult<ReplyOf<S, A>>)
      | Bind<DataOf<S, A>, ReplyOf<S, A>, Connection<S, C>>,
  ): Binding {
    return this.router.bind(action, handler as Handler<Connection<S, C>>);
  }

  /** The packets of one action from the server: the stream `bindAction` subscribes to. */
  action$<A extends ActionName<S>>(action: A): Observable<Envelope<Connection<S, C>, Packet<A, DataOf<S, A>>>> {
    return this.router.action$(action) as Observable<Envelope<Connection<S, C>, Packet<A, DataOf<S, A>>>>;
  }

  /** Bound action names with the number of packets each has handled. */
  boundActions(): ReadonlyMap<string, number> {
    return this.router.boundActions();
  }

  /** Traffic of the current connection. */
  stats(): InstanceStats {
    const stats = this.current?.stats ?? { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
    return { ...stats, startedAt: this.startedAt, clients: this.current ? 1 : 0 };
  }

  /** Opens a socket and completes the handshake; rejects with the reason it could not. */
  private connectOnce(): Promise<Connection<S, C>> {
    const { host, port, handshakeTimeoutMs, scheduler } = this.options;
    return new Promise((resolve, reject) => {
      const socket: Socket = connect({ host, port });
      let failure: PnetworkError | null = null;
      let ready = false;
      const connection: Connection<S, C> = new Connection<S, C>(
        socket,
        this.options,
        clientHandshake({ timeoutMs: handshakeTimeoutMs, scheduler }),
        {
          onHandshake: () => {
            ready = true;
            resolve(connection);
          },
          onPacket: (packet) => this.router.dispatch(packet, connection),
          onError: (error) => {
            if (ready) this.router.report(error);
            else failure = error;
          },
          onClose: (reason) => {
            if (!ready) {
              reject(failure ?? new NotConnectedError(`could not connect to ${host}:${port}: ${reason}`));
              return;
            }
            this.onConnectionClosed(connection, reason);
          },
        },
      );
      connection
        .sendControl({ action: 'handshake', data: { protocol: PROTOCOL_VERSION }, 'packet-created': Date.now(), token: null })
        .catch(() => undefined);
    });
  }

  private onConnectionClosed(connection: Connection<S, C>, _reason: string): void {
    if (this.current !== connection) return;
    this.current = null;
    this.states.next('closed');
  }
}
