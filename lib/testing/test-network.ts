/**
 * A Server and its Clients over an in-memory network, on one virtual clock: the same pipeline as over
 * TCP (framing, codec, handshake, routing, heartbeats, requests, reconnection) with no sockets, so a
 * user's handlers can be tested in virtual time.
 * @module
 */
import { VirtualTimeScheduler } from 'rxjs';
import { Client, type ClientOptions } from '../client.js';
import { Server, type ServerOptions } from '../server.js';
import type { ActionMap, AnyActions } from '../types.js';
import { MemoryTransport } from '../transport/memory-transport.js';
import { VirtualClock } from './virtual-clock.js';
import { WireLog } from './wire-log.js';

/** Options for {@link createTestNetwork}. */
export interface TestNetworkOptions {
  /**
   * The virtual clock: a `VirtualTimeScheduler`, or rxjs's `TestScheduler`. Every Server and Client of
   * the network runs on it. @defaultValue a new VirtualTimeScheduler
   */
  scheduler?: VirtualTimeScheduler;
  /**
   * Options for the server (its transport, scheduler and port are the network's). With `tls`, TLS 1.3
   * runs over the in-memory sockets, and `wire` then sees only TLS records, so it records no packets.
   */
  server?: Omit<ServerOptions, 'scheduler' | 'transport' | 'port'>;
}

/** A socket end that {@link TestNetwork.stopReading} stopped. */
export interface StoppedReader {
  /** Reads again: what waited is delivered. */
  resume(): void;
}

/** Options for {@link TestNetwork.connect}: any client option but those the network sets. */
export type TestClientOptions = Omit<ClientOptions, 'scheduler' | 'transport' | 'port' | 'host'>;

/**
 * A started Server and the Clients connected to it through an in-memory network, on one virtual clock.
 * Nothing moves in virtual time until `advance()` is called; bytes, Promises and handlers run as usual
 * and `settle()` waits for them.
 * @typeParam C actions clients send
 * @typeParam S actions the server sends
 */
export class TestNetwork<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions> {
  /** Every packet written on the network, with the virtual time it was written at. */
  readonly wire: WireLog;
  /** Moves virtual time; `advance(ms)` and `settle()` are also on the network itself. */
  readonly clock: VirtualClock;
  /** The server, started. */
  readonly server: Server<C, S>;
  /** The clients connected so far, in the order they connected. */
  readonly clients: Array<Client<C, S>> = [];
  private readonly transport: MemoryTransport;
  private readonly connections = new Map<Client<C, S>, number>();

  /** @internal Use {@link createTestNetwork}. */
  constructor(readonly scheduler: VirtualTimeScheduler, serverOptions: TestNetworkOptions['server'] = {}) {
    const now = (): number => scheduler.now();
    this.wire = new WireLog(now);
    this.transport = new MemoryTransport((from, connection, chunk) => this.wire.record(from, connection, chunk));
    this.clock = new VirtualClock(scheduler, () => this.transport.bytesMoved);
    this.server = new Server<C, S>({ ...serverOptions, port: 0, scheduler, transport: this.transport });
  }

  /** The virtual time now, in ms. */
  get now(): number {
    return this.clock.now;
  }

  /**
   * Connects a new client and resolves once its handshake is done (or rejects, as `start()` does, when
   * the server refuses it). Virtual time does not move.
   */
  async connect(options: TestClientOptions = {}): Promise<Client<C, S>> {
    const client = new Client<C, S>({ ...options, host: 'memory', port: this.server.address().port, scheduler: this.scheduler, transport: this.transport });
    this.clients.push(client);
    this.connections.set(client, this.transport.nextConnection);
    await settled(client.start(), this.clock);
    return client;
  }

  /**
   * The wire number of a client's first connection, as {@link WirePacket} `connection` gives it: filter
   * `wire` by it to see one client's traffic.
   */
  connectionOf(client: Client<C, S>): number {
    const connection = this.connections.get(client);
    if (connection === undefined) throw new Error('that client was not connected through this network');
    return connection;
  }

  /**
   * Makes one side of a client's connection stop reading, as a stuck or slow peer does: what the other
   * side writes then waits, and pings go unanswered. `resume()` on the returned socket reads again.
   */
  stopReading(client: Client<C, S>, side: 'client' | 'server' = 'client'): StoppedReader {
    const socket = this.transport.end(side, this.connectionOf(client));
    if (socket === undefined) throw new Error(`the ${side} end of that connection has closed`);
    socket.pause();
    return { resume: () => void socket.resume() };
  }

  /** Moves virtual time forward by `ms`, firing due timers one by one and settling after each. */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms);
  }

  /** Lets everything that needs no timer finish: bytes in flight, handlers, replies. */
  settle(): Promise<void> {
    return this.clock.settle();
  }

  /**
   * Stops every client and the server, moving virtual time as far as the close sequence needs (peers
   * answer at once in memory, so no close timeout is reached unless a test made a peer unresponsive).
   */
  async close(): Promise<void> {
    const stopping = [...this.clients.map((client) => client.stop()), this.server.stop()];
    const all = Promise.allSettled(stopping);
    let done = false;
    void all.then(() => (done = true));
    // Bounded: each step runs due timers; a close that needs its timeout reaches it within these steps.
    for (let steps = 0; !done && steps < 1000; steps++) await this.clock.advance(10);
    const results = await all;
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Starts a server on an in-memory network, on a virtual clock.
 * @example
 * const network = await createTestNetwork({ scheduler: new TestScheduler(assertDeepEqual) });
 * network.server.bindAction('sum', ({ a, b }) => a + b);
 * const client = await network.connect();
 * const reply = client.request('sum', { a: 1, b: 2 });
 * await network.settle();
 * expect(await reply).to.equal(3);
 */
export async function createTestNetwork<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions>(options: TestNetworkOptions = {}): Promise<TestNetwork<C, S>> {
  const network = new TestNetwork<C, S>(options.scheduler ?? new VirtualTimeScheduler(), options.server);
  await settled(network.server.start(), network.clock);
  return network;
}

/** A {@link TestNetwork} with one client connected: the common case. */
export interface TestPair<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions> {
  /** The network, for `advance()`, `settle()`, `wire` and `close()`. */
  readonly network: TestNetwork<C, S>;
  /** The server. */
  readonly server: Server<C, S>;
  /** The connected client. */
  readonly client: Client<C, S>;
}

/** Starts a server and connects one client to it over an in-memory network, on a virtual clock. */
export async function createTestPair<C extends ActionMap = AnyActions, S extends ActionMap = AnyActions>(
  options: TestNetworkOptions & { client?: TestClientOptions } = {},
): Promise<TestPair<C, S>> {
  const network = await createTestNetwork<C, S>(options);
  try {
    return { network, server: network.server, client: await network.connect(options.client) };
  } catch (err) {
    // A pair that cannot connect (a refused pin, say) leaves nothing running behind it.
    await network.close();
    throw err;
  }
}

/** Waits for `promise` while the network settles; its rejection is handled from the start, then rethrown. */
async function settled<T>(promise: Promise<T>, clock: VirtualClock): Promise<T> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await clock.settle();
  const result = await outcome;
  if ('error' in result) throw result.error;
  return result.value;
}
