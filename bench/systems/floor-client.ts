/**
 * The client side both node:net floors share: sends coalesced by the framing's Writer, waiting for
 * 'drain' only when the socket is full; requests matched to replies by id; pushes handed on. The floors
 * differ only in what a message carries, which each gives as a {@link FloorProtocol}.
 * @module
 */
import type net from 'node:net';
import { Writer, frameReader } from './net-framing.js';
import { PendingRequests, type BenchConnection, type ConnectOptions } from './types.js';

/** What a floor's message has at least. */
export interface FloorMessage {
  readonly action: string;
  readonly data?: unknown;
  readonly id?: number;
}

/** How one floor encodes what it sends and recognises the server's hello. */
export interface FloorProtocol<M extends FloorMessage> {
  /** The frame for a message (`id` for a request). */
  encode(action: string, data: unknown, id?: number): Buffer;
  /** True for the server's first hello; the floor may keep what it carries (a token, say). */
  greet(message: M): boolean;
}

/** Resolves with a connection once the server's hello has arrived on `socket`. */
export function floorClient<M extends FloorMessage>(socket: net.Socket, options: ConnectOptions, protocol: FloorProtocol<M>): Promise<BenchConnection> {
  return new Promise((resolve, reject) => {
    const writer = new Writer(socket);
    const pending = new PendingRequests();
    const pushes = new Set(options.pushActions);
    let greeted = false;
    let drain: Promise<void> | null = null;
    const fail = (error: Error): void => {
      pending.failAll(error);
      reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    const connection: BenchConnection = {
      send(action, data) {
        if (writer.write(protocol.encode(action, data))) return undefined;
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
        writer.write(protocol.encode(action, data, id));
        return reply;
      },
      close: () => socket.destroy(),
    };
    socket.on(
      'data',
      frameReader(
        (text) => {
          const message = JSON.parse(text) as M;
          if (!greeted && protocol.greet(message)) {
            greeted = true;
            resolve(connection);
          } else if (message.action === 'reply') {
            if (!pending.settle(message.id, message.data)) fail(new Error(`reply to unknown request ${String(message.id)}`));
          } else if (pushes.has(message.action)) {
            options.onPush(message.action, message.data);
          } else fail(new Error(`unexpected message ${message.action}`));
        },
        (error) => {
          fail(error);
          socket.destroy();
        },
      ),
    );
  });
}
