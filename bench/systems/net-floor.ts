/**
 * The node:net floor: what a careful hand-written protocol costs. Each frame is a 4-byte big-endian
 * length followed by UTF-8 JSON of a packet; writes made in one tick are coalesced into one
 * socket.write on process.nextTick (or sooner, once 64 KiB are pending).
 * @module
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { benchTls } from './bench-keys.js';
import {
  HOST,
  PendingRequests,
  makePacket,
  routes,
  type BenchConnection,
  type BenchPacket,
  type BenchServer,
  type BenchSystem,
  type ConnectOptions,
  type ServerHooks,
} from './types.js';

const FLUSH_BYTES = 64 * 1024;
const MAX_FRAME = 1024 * 1024;

function encode(packet: BenchPacket): Buffer {
  const text = JSON.stringify(packet);
  const length = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, 4, 'utf8');
  return frame;
}

/** Coalesces the frames written during one tick into one socket.write. */
class Writer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(private readonly socket: net.Socket) {}

  /** Queues a frame; returns false when the socket asks the writer to wait for 'drain'. */
  write(frame: Buffer): boolean {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
    return !this.socket.writableNeedDrain;
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.socket.destroyed) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.write(chunk);
  }
}

/** Splits a byte stream into frames and parses each as a packet. */
function frameReader(onPacket: (packet: BenchPacket) => void, onError: (error: Error) => void): (chunk: Buffer) => void {
  let held: Buffer | null = null;
  return (chunk) => {
    let buffer = held === null ? chunk : Buffer.concat([held, chunk]);
    held = null;
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (length > MAX_FRAME) {
        onError(new Error(`frame of ${length} bytes exceeds ${MAX_FRAME}`));
        return;
      }
      if (buffer.length - offset - 4 < length) break;
      const text = buffer.toString('utf8', offset + 4, offset + 4 + length);
      offset += 4 + length;
      onPacket(JSON.parse(text) as BenchPacket);
    }
    if (offset < buffer.length) {
      buffer = buffer.subarray(offset);
      held = Buffer.from(buffer);
    }
  };
}

interface FloorConnection {
  token: string;
  socket: net.Socket;
  writer: Writer;
}

/** How the floor listens and dials: plain TCP, or TLS 1.3 (the node:tls floor). */
interface FloorTransport {
  listen(onSocket: (socket: net.Socket) => void): net.Server;
  dial(port: number): net.Socket;
}

const PLAIN: FloorTransport = {
  listen: (onSocket) => net.createServer({ noDelay: true }, onSocket),
  dial: (port) => net.connect({ host: HOST, port, noDelay: true }),
};

function createServer(transport: FloorTransport, hooks: ServerHooks): BenchServer {
  const table = routes(hooks);
  const connections = new Set<FloorConnection>();
  const server = transport.listen((socket) => {
    const connection: FloorConnection = { token: randomUUID(), socket, writer: new Writer(socket) };
    connections.add(connection);
    socket.on('close', () => connections.delete(connection));
    socket.on('error', () => socket.destroy());
    socket.on(
      'data',
      frameReader(
        (packet) => {
          const route = table.get(packet.action);
          if (route === undefined) return hooks.onUnexpected(`unknown action ${packet.action}`);
          if (packet.token !== connection.token) return hooks.onUnexpected('token mismatch');
          if (!route.reply) return hooks.onMessage(packet.action, packet.data);
          const reply = hooks.onRequest(packet.action, packet.data);
          connection.writer.write(encode(makePacket('reply', reply, connection.token, packet.id)));
        },
        (error) => {
          hooks.onUnexpected(error.message);
          socket.destroy();
        },
      ),
    );
    connection.writer.write(encode(makePacket('hello', null, connection.token)));
  });
  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: HOST, port: 0, backlog: 4096 }, () => resolve((server.address() as net.AddressInfo).port));
      }),
    clientCount: () => connections.size,
    broadcast: (action, data) => {
      let count = 0;
      for (const connection of connections) {
        connection.writer.write(encode(makePacket(action, data, connection.token)));
        count++;
      }
      return Promise.resolve(count);
    },
    stop: () =>
      new Promise((resolve) => {
        for (const connection of connections) connection.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function connect(transport: FloorTransport, port: number, options: ConnectOptions): Promise<BenchConnection> {
  return new Promise((resolve, reject) => {
    const socket = transport.dial(port);
    const writer = new Writer(socket);
    const pending = new PendingRequests();
    const pushes = new Set(options.pushActions);
    let token: string | null = null;
    let drain: Promise<void> | null = null;
    const fail = (error: Error): void => {
      pending.failAll(error);
      reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    const connection: BenchConnection = {
      send(action, data) {
        if (writer.write(encode(makePacket(action, data, token)))) return undefined;
        writer.flush();
        drain ??= new Promise<void>((done) =>
          socket.once('drain', () => {
            drain = null;
            done();
          }),
        );
        return drain;
      },
      request(action, data) {
        const { id, reply } = pending.open();
        writer.write(encode(makePacket(action, data, token, id)));
        return reply;
      },
      close: () => socket.destroy(),
    };
    socket.on(
      'data',
      frameReader(
        (packet) => {
          if (packet.action === 'hello' && token === null) {
            token = packet.token;
            resolve(connection);
          } else if (packet.action === 'reply') {
            if (!pending.settle(packet.id, packet.data)) fail(new Error(`reply to unknown request ${String(packet.id)}`));
          } else if (pushes.has(packet.action)) {
            options.onPush(packet.action, packet.data);
          } else fail(new Error(`unexpected packet ${packet.action}`));
        },
        (error) => {
          fail(error);
          socket.destroy();
        },
      ),
    );
  });
}

function floor(name: string, transport: FloorTransport): BenchSystem {
  return { name, createServer: (hooks) => createServer(transport, hooks), connect: (port, options) => connect(transport, port, options) };
}

/** The node:net floor. */
export const system: BenchSystem = floor('net', PLAIN);

/**
 * The node:tls floor: the same protocol over TLS 1.3 (the same RSA key as pnetwork's TLS runs, its
 * certificate trusted directly), written by hand with node:tls.
 */
export const tlsSystem: BenchSystem = floor('tls', {
  listen: (onSocket) => {
    const { key, cert } = benchTls();
    return tls.createServer({ key, cert, minVersion: 'TLSv1.3', noDelay: true }, onSocket);
  },
  dial: (port) => {
    const { cert } = benchTls();
    const socket = tls.connect({ host: HOST, port, ca: [cert], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    socket.setNoDelay(true);
    return socket;
  },
});
