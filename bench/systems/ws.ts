/**
 * ws: one text frame of JSON per packet. The server sends a `hello` carrying the connection's token
 * after the upgrade; clients wait for it (mirroring the floor's handshake). Backpressure: a sender
 * waits for the send callback once `bufferedAmount` passes the high-water mark.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import {
  HOST,
  PendingRequests,
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

function createServer(hooks: ServerHooks): BenchServer {
  const table = routes(hooks);
  const tokens = new Map<WebSocket, string>();
  let wss: WebSocketServer | null = null;
  const onConnection = (socket: WebSocket): void => {
    const token = randomUUID();
    tokens.set(socket, token);
    socket.on('close', () => tokens.delete(socket));
    socket.on('error', () => socket.terminate());
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      if (isBinary) return hooks.onUnexpected('binary frame');
      const packet = JSON.parse(raw.toString('utf8')) as BenchPacket;
      const route = table.get(packet.action);
      if (route === undefined) return hooks.onUnexpected(`unknown action ${packet.action}`);
      if (packet.token !== token) return hooks.onUnexpected('token mismatch');
      if (!route.reply) return hooks.onMessage(packet.action, packet.data);
      socket.send(JSON.stringify(makePacket('reply', hooks.onRequest(packet.action, packet.data), token, packet.id)));
    });
    socket.send(JSON.stringify(makePacket('hello', null, token)));
  };
  return {
    start: () =>
      new Promise((resolve, reject) => {
        const server = new WebSocketServer({ host: HOST, port: 0, backlog: 4096, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
        wss = server;
        server.on('connection', onConnection);
        server.once('error', reject);
        server.once('listening', () => resolve((server.address() as AddressInfo).port));
      }),
    clientCount: () => tokens.size,
    broadcast: (action, data) => {
      let count = 0;
      for (const [socket, token] of tokens) {
        if (socket.readyState !== WebSocket.OPEN) continue;
        socket.send(JSON.stringify(makePacket(action, data, token)));
        count++;
      }
      return Promise.resolve(count);
    },
    stop: () =>
      new Promise((resolve) => {
        for (const socket of tokens.keys()) socket.terminate();
        if (wss) wss.close(() => resolve());
        else resolve();
      }),
  };
}

function connect(port: number, options: ConnectOptions): Promise<BenchConnection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
    const pending = new PendingRequests();
    const pushes = new Set(options.pushActions);
    let token: string | null = null;
    const fail = (error: Error): void => {
      pending.failAll(error);
      reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    const connection: BenchConnection = {
      send(action, data) {
        const text = JSON.stringify(makePacket(action, data, token));
        if (socket.bufferedAmount < SEND_HIGH_WATER) {
          socket.send(text);
          return undefined;
        }
        return new Promise<void>((done, failed) => socket.send(text, (error) => (error ? failed(error) : done())));
      },
      request(action, data) {
        const { id, reply } = pending.open();
        socket.send(JSON.stringify(makePacket(action, data, token, id)));
        return reply;
      },
      close: () => socket.terminate(),
    };
    socket.on('message', (raw: Buffer) => {
      const packet = JSON.parse(raw.toString('utf8')) as BenchPacket;
      if (packet.action === 'hello' && token === null) {
        token = packet.token;
        resolve(connection);
      } else if (packet.action === 'reply') {
        if (!pending.settle(packet.id, packet.data)) fail(new Error(`reply to unknown request ${String(packet.id)}`));
      } else if (pushes.has(packet.action)) {
        options.onPush(packet.action, packet.data);
      } else fail(new Error(`unexpected packet ${packet.action}`));
    });
  });
}

/** ws. */
export const system: BenchSystem = { name: 'ws', createServer, connect };
