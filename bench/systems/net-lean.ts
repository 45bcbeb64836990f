/**
 * The cheapest node:net floor: the same data in the least a hand-written protocol needs. A message is
 * `{ action, data }` (no token, no packet-created); a request adds `id`, and its reply is
 * `{ action: 'reply', data, id }`. Framing is the other floor's (net-framing.ts): 4-byte big-endian
 * length, UTF-8 JSON, writes coalesced per tick. On accept the server sends `{ action: 'hello' }` and
 * the client counts as connected when it arrives, so "connected" means what it means for every other
 * system: the server has taken the connection and said so.
 * @module
 */
import net from 'node:net';
import { floorClient } from './floor-client.js';
import { Writer, encodeFrame, frameReader } from './net-framing.js';
import {
  HOST,
  routes,
  type BenchConnection,
  type BenchServer,
  type BenchSystem,
  type ConnectOptions,
  type ServerHooks,
} from './types.js';

/** What travels in a frame. */
interface LeanMessage {
  action: string;
  data?: unknown;
  id?: number;
}

const HELLO = encodeFrame(JSON.stringify({ action: 'hello' }));

function encode(action: string, data: unknown, id?: number): Buffer {
  return encodeFrame(JSON.stringify(id === undefined ? { action, data } : { action, data, id }));
}

function messageReader(onMessage: (message: LeanMessage) => void, onError: (error: Error) => void): (chunk: Buffer) => void {
  return frameReader((text) => onMessage(JSON.parse(text) as LeanMessage), onError);
}

function createServer(hooks: ServerHooks): BenchServer {
  const table = routes(hooks);
  const writers = new Map<net.Socket, Writer>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    const writer = new Writer(socket);
    writers.set(socket, writer);
    socket.on('close', () => writers.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on(
      'data',
      messageReader(
        (message) => {
          const route = table.get(message.action);
          if (route === undefined) return hooks.onUnexpected(`unknown action ${message.action}`);
          if (!route.reply) return hooks.onMessage(message.action, message.data);
          writer.write(encode('reply', hooks.onRequest(message.action, message.data), message.id));
        },
        (error) => {
          hooks.onUnexpected(error.message);
          socket.destroy();
        },
      ),
    );
    writer.write(HELLO);
  });
  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: HOST, port: 0, backlog: 4096 }, () => resolve((server.address() as net.AddressInfo).port));
      }),
    clientCount: () => writers.size,
    broadcast: (action, data) => {
      // Every recipient gets the same bytes: with no per-connection envelope, one encoding serves all.
      const frame = encode(action, data);
      for (const writer of writers.values()) writer.write(frame);
      return Promise.resolve(writers.size);
    },
    stop: () =>
      new Promise((resolve) => {
        for (const socket of writers.keys()) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function connect(port: number, options: ConnectOptions): Promise<BenchConnection> {
  return floorClient<LeanMessage>(net.connect({ host: HOST, port, noDelay: true }), options, { encode, greet: (message) => message.action === 'hello' });
}

/** The cheapest node:net floor. */
export const system: BenchSystem = { name: 'net-lean', createServer, connect };
