/**
 * How a Server listens and a Client connects: `node:net` by default, or anything with the same shape
 * (TLS, an in-memory pipe for tests). Everything above this seam sees only sockets.
 * @module
 */
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';

/**
 * The two calls pnetwork makes to get sockets: `createServer` (the shape of `net.createServer`) and
 * `connect` (the shape of `net.connect`). The objects they return may be `node:net`'s, `node:tls`'s, or
 * objects that behave the same way.
 */
export interface Transport {
  /** Makes a listener that calls `onSocket` for every socket it accepts. */
  createServer(onSocket: (socket: Socket) => void): NetServer;
  /** Opens a socket to `host:port`; it reports failures with an `'error'` event, as `net.connect` does. */
  connect(options: { readonly host: string; readonly port: number }): Socket;
}

/** Plain TCP through `node:net`: the default transport. */
export const netTransport: Transport = Object.freeze({
  createServer: (onSocket: (socket: Socket) => void): NetServer => createServer(onSocket),
  connect: (options: { readonly host: string; readonly port: number }): Socket => connect({ host: options.host, port: options.port }),
});
