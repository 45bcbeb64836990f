/**
 * socket.io, websocket transport only (no polling, no upgrade), no compression. A packet is emitted
 * as the single argument of a `packet` event; requests use socket.io's acknowledgements; broadcasts
 * use `io.emit` (encoded once, so the token is null there). The client's token is its socket id.
 * Backpressure: a sender waits while engine.io's write buffer is long or the underlying ws
 * `bufferedAmount` is past the high-water mark.
 * @module
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import {
  HOST,
  SEND_HIGH_WATER,
  makePacket,
  routes,
  type BenchConnection,
  type BenchPacket,
  type BenchServer,
  type BenchSystem,
  type ConnectOptions,
  type ServerHooks,
} from './types.js';

const MAX_PAYLOAD = 1024 * 1024;
const MAX_WRITE_BUFFER = 1024;

function createServer(hooks: ServerHooks): BenchServer {
  const table = routes(hooks);
  const http = createHttpServer();
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    maxHttpBufferSize: MAX_PAYLOAD,
  });
  io.on('connection', (socket) => {
    socket.on('packet', (packet: BenchPacket, ack?: (reply: unknown) => void) => {
      const route = table.get(packet.action);
      if (route === undefined) return hooks.onUnexpected(`unknown action ${packet.action}`);
      if (packet.token !== socket.id) return hooks.onUnexpected('token mismatch');
      if (!route.reply) return hooks.onMessage(packet.action, packet.data);
      if (typeof ack !== 'function') return hooks.onUnexpected('request without acknowledgement');
      ack(makePacket('reply', hooks.onRequest(packet.action, packet.data), socket.id));
    });
  });
  return {
    start: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen({ host: HOST, port: 0, backlog: 4096 }, () => resolve((http.address() as AddressInfo).port));
      }),
    clientCount: () => io.engine.clientsCount,
    broadcast: (action, data) => {
      io.emit('packet', makePacket(action, data, null));
      return Promise.resolve(io.engine.clientsCount);
    },
    stop: () =>
      new Promise((resolve) => {
        void io.close(() => resolve());
      }),
  };
}

/** The parts of engine.io-client this adapter reads for backpressure (not in its public types). */
interface EngineInternals {
  writeBuffer: unknown[];
  transport?: { ws?: { bufferedAmount: number } };
  once(event: 'drain', listener: () => void): void;
}

function connect(port: number, options: ConnectOptions): Promise<BenchConnection> {
  return new Promise((resolve, reject) => {
    const socket: ClientSocket = ioClient(`http://${HOST}:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    const pushes = new Set(options.pushActions);
    let waiting: Promise<void> | null = null;
    const engine = (): EngineInternals => socket.io.engine as unknown as EngineInternals;
    const busy = (): boolean => {
      const e = engine();
      return e.writeBuffer.length > MAX_WRITE_BUFFER || (e.transport?.ws?.bufferedAmount ?? 0) > SEND_HIGH_WATER;
    };
    const waitUntilIdle = (): Promise<void> =>
      new Promise<void>((done) => {
        const check = (): void => {
          if (!busy()) done();
          else if (engine().writeBuffer.length > MAX_WRITE_BUFFER) engine().once('drain', check);
          else setTimeout(check, 1);
        };
        check();
      });
    const connection: BenchConnection = {
      send(action, data) {
        socket.emit('packet', makePacket(action, data, socket.id ?? null));
        if (!busy()) return undefined;
        waiting ??= waitUntilIdle().then(() => {
          waiting = null;
        });
        return waiting;
      },
      request(action, data) {
        return new Promise((done, failed) => {
          socket.emit('packet', makePacket(action, data, socket.id ?? null), (reply: BenchPacket) => {
            if (reply.action !== 'reply') failed(new Error(`unexpected reply action ${reply.action}`));
            else done(reply.data);
          });
        });
      },
      close: () => socket.disconnect(),
    };
    socket.on('packet', (packet: BenchPacket) => {
      if (pushes.has(packet.action)) options.onPush(packet.action, packet.data);
      else reject(new Error(`unexpected packet ${packet.action}`));
    });
    socket.once('connect', () => resolve(connection));
    socket.once('connect_error', (error) => reject(error));
  });
}

/** socket.io (websocket transport). */
export const system: BenchSystem = { name: 'socketio', createServer, connect };
