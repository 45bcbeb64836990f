/**
 * The same-envelope node:net floor: what a careful hand-written protocol costs when it carries the
 * envelope pnetwork carries (`token` and `packet-created` in every packet). Framing (net-framing.ts):
 * a 4-byte big-endian length, then UTF-8 JSON of the packet; writes made in one tick are coalesced.
 * @module
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { benchTls } from './bench-keys.js';
import { floorClient } from './floor-client.js';
import { Writer, encodeFrame, frameReader } from './net-framing.js';
import {
  HOST,
  makePacket,
  routes,
  type BenchConnection,
  type BenchPacket,
  type BenchServer,
  type BenchSystem,
  type ConnectOptions,
  type ServerHooks,
} from './types.js';

function encode(packet: BenchPacket): Buffer {
  return encodeFrame(JSON.stringify(packet));
}

/** The shared frame reader, parsing each frame as a packet. */
function packetReader(onPacket: (packet: BenchPacket) => void, onError: (error: Error) => void): (chunk: Buffer) => void {
  return frameReader((text) => onPacket(JSON.parse(text) as BenchPacket), onError);
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
      packetReader(
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
  // The token arrives with the server's hello; every packet after it carries it.
  let token: string | null = null;
  return floorClient<BenchPacket>(transport.dial(port), options, {
    encode: (action, data, id) => encode(makePacket(action, data, token, id)),
    greet: (packet) => {
      if (packet.action !== 'hello') return false;
      token = packet.token;
      return true;
    },
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
