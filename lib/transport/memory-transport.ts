/**
 * An in-memory transport: listeners and sockets that live in one process and move bytes between each
 * other without the network, with the same events and backpressure as `node:net`. `pnetwork/testing`
 * runs Server and Client over it.
 * @module
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Transport } from './transport.js';

/** Bytes a socket buffers for a reader that does not read before the writer has to wait. */
const HIGH_WATER_MARK = 64 * 1024;

/** One end of an in-memory connection. Writes become the other end's reads. */
export class MemorySocket extends Duplex {
  /** The other end; set right after both ends are made. */
  private peer: MemorySocket | null = null;
  /** A write waiting for the reader to take what it was given. */
  private waitingWrite: (() => void) | null = null;

  /** The peer's address: the in-memory host name. */
  readonly remoteAddress: string;
  /** The peer's port: a number unique to this connection on its listener. */
  readonly remotePort: number;
  /** Always 'memory'. */
  readonly remoteFamily = 'memory';

  /**
   * @param remoteAddress what `remoteAddress` reports
   * @param remotePort what `remotePort` reports
   * @param onChunk called with every chunk this end writes (progress tracking, wire logs)
   */
  constructor(
    remoteAddress: string,
    remotePort: number,
    private readonly onChunk: (chunk: Buffer) => void,
  ) {
    // No half-open sockets, like net's default: an 'end' from the peer ends this side too.
    super({ allowHalfOpen: false, readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  /** Connects two ends. */
  static pair(a: MemorySocket, b: MemorySocket): void {
    a.peer = b;
    b.peer = a;
  }

  /** A no-op: there is no Nagle buffering in memory. */
  setNoDelay(): this {
    return this;
  }

  /** A no-op: there is nothing to keep alive in memory. */
  setKeepAlive(): this {
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === null || peer.destroyed || peer.readableEnded) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      return;
    }
    this.onChunk(chunk);
    // A reader that does not keep up makes this writer wait, as a full TCP window does.
    if (peer.push(chunk)) callback();
    else peer.waitingWrite = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer !== null && !peer.destroyed) peer.push(null);
    callback();
  }

  override _read(): void {
    const resume = this.waitingWrite;
    this.waitingWrite = null;
    resume?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.waitingWrite = null;
    // Destroying one end closes the other, as a TCP FIN does: the peer reads an end, then closes.
    if (peer !== null && !peer.destroyed && !peer.readableEnded) peer.push(null);
    callback(error);
  }
}

/** A listener of the in-memory transport, with the parts of `net.Server` that pnetwork uses. */
class MemoryListener extends EventEmitter {
  private port: number | null = null;
  private host = '';
  private readonly sockets = new Set<MemorySocket>();

  constructor(
    private readonly network: MemoryTransport,
    private readonly onSocket: (socket: Socket) => void,
  ) {
    super();
  }

  listen(port: number, host: string, callback?: () => void): this {
    const bound = this.network.bind(this, port);
    if (bound instanceof Error) {
      process.nextTick(() => this.emit('error', bound));
      return this;
    }
    this.port = bound;
    this.host = host;
    process.nextTick(() => {
      callback?.();
      this.emit('listening');
    });
    return this;
  }

  address(): AddressInfo | null {
    return this.port === null ? null : { address: this.host, family: 'memory', port: this.port };
  }

  close(callback?: (err?: Error) => void): this {
    if (this.port !== null) this.network.unbind(this.port);
    this.port = null;
    // Like net.Server: the callback runs once every accepted socket has closed.
    const done = (): void => {
      if (this.sockets.size > 0) return;
      callback?.();
      this.emit('close');
    };
    if (this.sockets.size === 0) process.nextTick(done);
    else for (const socket of this.sockets) socket.once('close', () => process.nextTick(done));
    return this;
  }

  /** A client end asks to connect: make the server end and hand it over. */
  accept(server: MemorySocket): void {
    this.sockets.add(server);
    server.once('close', () => this.sockets.delete(server));
    this.onSocket(server as unknown as Socket);
  }
}

/** Sees every chunk written on a {@link MemoryTransport}: which end wrote it and on which connection. */
export type MemoryTap = (from: 'server' | 'client', connection: number, chunk: Uint8Array) => void;

/**
 * An in-memory network: listeners bind ports in it, and `connect` reaches them. Every instance is a
 * separate network. Use it as a {@link Transport} for a Server and the Clients that connect to it.
 */
export class MemoryTransport implements Transport {
  private readonly listeners = new Map<number, MemoryListener>();
  private nextPort = 40_000;
  private nextClientPort = 50_000;
  private moved = 0;
  private readonly ends = new Map<string, MemorySocket>();

  /** @param tap sees every chunk written, in order */
  constructor(private readonly tap?: MemoryTap) {}

  /** The number the next connection will get (its client end's port). */
  get nextConnection(): number {
    return this.nextClientPort;
  }

  /** @internal One end of a connection, by its number (see {@link nextConnection}); undefined once it has closed. */
  end(side: 'server' | 'client', connection: number): MemorySocket | undefined {
    return this.ends.get(`${side}:${connection}`);
  }

  /** Bytes written on every socket of this network so far: a test driver reads it to see progress. */
  get bytesMoved(): number {
    return this.moved;
  }

  createServer(onSocket: (socket: Socket) => void): NetServer {
    // The listener has the parts of net.Server that pnetwork calls; the cast is the seam's one trust.
    return new MemoryListener(this, onSocket) as unknown as NetServer;
  }

  connect(options: { readonly host: string; readonly port: number }): Socket {
    const clientPort = this.nextClientPort++;
    const written = (from: 'server' | 'client') => (chunk: Buffer): void => {
      this.moved += chunk.length;
      this.tap?.(from, clientPort, chunk);
    };
    const client = new MemorySocket(options.host, options.port, written('client'));
    this.track('client', clientPort, client);
    const listener = this.listeners.get(options.port);
    if (listener === undefined) {
      process.nextTick(() => client.destroy(Object.assign(new Error(`connect ECONNREFUSED ${options.host}:${options.port}`), { code: 'ECONNREFUSED' })));
      return client as unknown as Socket;
    }
    const server = new MemorySocket('memory', clientPort, written('server'));
    this.track('server', clientPort, server);
    MemorySocket.pair(client, server);
    // Accepted on the next tick, as a real connection completes after connect() returns.
    process.nextTick(() => {
      if (client.destroyed) server.destroy();
      else listener.accept(server);
      client.emit('connect');
    });
    return client as unknown as Socket;
  }

  private track(side: 'server' | 'client', connection: number, socket: MemorySocket): void {
    const key = `${side}:${connection}`;
    this.ends.set(key, socket);
    socket.once('close', () => this.ends.delete(key));
  }

  /** @internal A listener takes a port (0 picks a free one). */
  bind(listener: MemoryListener, port: number): number | Error {
    const chosen = port === 0 ? this.nextPort++ : port;
    if (this.listeners.has(chosen)) return Object.assign(new Error(`listen EADDRINUSE: address already in use :${chosen}`), { code: 'EADDRINUSE' });
    this.listeners.set(chosen, listener);
    return chosen;
  }

  /** @internal A listener gives its port back. */
  unbind(port: number): void {
    this.listeners.delete(port);
  }
}
