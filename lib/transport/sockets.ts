/**
 * Where sockets come from: plain TCP (node:net) or TLS 1.3 (node:tls), for listening and for dialling.
 * Server and Client ask here and get back sockets that are ready for pnetwork's frames: a TLS socket is
 * handed over only after its handshake, with the peer checked.
 * @module
 */
import type { Server as NetServer, Socket } from 'node:net';
import { netTransport, type Transport } from './transport.js';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { fingerprint } from '../crypto/keys.js';
import { TlsHandshakeError, UnauthorizedClientError, type PnetworkError } from '../errors.js';
import { dialTls, type DialDeadline } from './dial-tls.js';
import { TLS_VERSION, tlsFailureHint, type ResolvedClientTls, type ResolvedServerTls } from './tls-options.js';
import { SecureSocket, type ChannelRecordCounts } from './secure-socket.js';
import type { SchedulerLike } from 'rxjs';
import type { Codec } from '../protocol/codec.js';
import { refuseSocket } from './refuse-socket.js';
import { TlsHandshakes } from './tls-handshakes.js';

export type { DialDeadline } from './dial-tls.js';

/** What a listener tells its owner. */
export interface ListenerEvents {
  /** A socket ready for frames: plain at once, TLS after a handshake whose peer passed the checks. */
  onSocket(socket: Socket): void;
  /** A TLS handshake that failed or a client that was refused; the socket is already being closed. */
  onRefused(error: PnetworkError): void;
  /**
   * A TCP connection to a TLS listener, before its handshake: a connection limit it breaks (counting it in
   * if it breaks none), and it is closed at once, unanswered (nothing can be said before TLS).
   */
  onTcpConnection(raw: Socket): PnetworkError | null;
  /** A connection counted by onTcpConnection ended without being handed over (from host `host`). */
  onTcpGone(host: string): void;
}

/** How a listener turns a client away: the codec of its error packet, and the clock for its stamp and timers. */
export interface RefusalSettings {
  /** How long a refused client may keep its socket, in ms. */
  readonly closeTimeoutMs: number;
  /** How long a TLS handshake may take, in ms. */
  readonly handshakeTimeoutMs: number;
  readonly codec: Codec;
  readonly scheduler: SchedulerLike;
}

/** A server socket to `listen` on, and the sockets it has not handed over yet. */
export interface Listener {
  readonly server: NetServer;
  /** Gives up every TLS handshake in progress, so that `server.close()` need not wait for them. */
  abortHandshakes(): void;
  /** TLS handshakes in progress: connections the limits count before they are handed over. */
  readonly handshaking: number;
}

/**
 * A listening server: TLS 1.3 over node:tls with `tls`, otherwise whatever `plain` makes (node:net by default).
 * A refused client gets an error packet and is closed as `refusal` says; a TLS handshake not finished
 * within `refusal.handshakeTimeoutMs` is given up and reported.
 */
export function createListener(tls: ResolvedServerTls | null, events: ListenerEvents, refusal: RefusalSettings, plain: Transport): Listener {
  if (!tls) return { server: plain.createServer((socket) => events.onSocket(socket)), abortHandshakes: () => undefined, handshaking: 0 };
  const handshakes = new TlsHandshakes(
    refusal.handshakeTimeoutMs,
    refusal.scheduler,
    (error) => events.onRefused(error),
    (host) => events.onTcpGone(host),
  );
  const authorized = tls.authorizedKeys;
  const server = createTlsServer(
    {
      key: tls.key,
      cert: tls.cert,
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
      // A client certificate is asked for only when there is a list to check it against. Its chain is
      // not checked against CAs (clients use self-signed certificates); its key is checked against the
      // list below, before a byte from the client is read. TLS 1.3 has already verified that the client
      // holds the certificate's private key.
      requestCert: authorized !== null,
      rejectUnauthorized: false,
    },
    (socket) => {
      const raw = handshakes.finished(socket);
      const presented = peerFingerprint(socket);
      if (authorized !== null) {
        if (presented === null || !authorized.has(presented)) {
          const error = new UnauthorizedClientError(presented === null ? 'client presented no certificate' : `client key ${presented} is not authorized`);
          // The error packet is the only thing the refused client ever receives.
          refuseSocket(socket, error, refusal.codec, refusal.closeTimeoutMs, refusal.scheduler);
          events.onRefused(error);
          return;
        }
      }
      if (raw) handshakes.handOver(raw);
      events.onSocket(socket);
    },
  );
  server.on('connection', (raw: Socket) => {
    const refusal = events.onTcpConnection(raw);
    if (refusal !== null) {
      raw.destroy();
      refusal.remoteAddress = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
      events.onRefused(refusal);
      return;
    }
    handshakes.begin(raw);
  });
  server.on('tlsClientError', (err, socket) => {
    socket.destroy();
    // A client that hangs up during the handshake (a pinned client learning the certificate does, by
    // design) has gone away: nothing failed on this side.
    if (handshakes.failed(socket) && !wentAway(err)) events.onRefused(new TlsHandshakeError(`TLS handshake with a client failed${tlsFailureHint(err, 'client')}: ${err.message}`, { cause: err }));
  });
  // Another transport (the in-memory one) accepts the sockets; the TLS server, which never listens, wraps each.
  const listening = plain === netTransport ? server : plain.createServer((socket) => server.emit('connection', socket));
  return {
    server: listening,
    abortHandshakes: () => handshakes.abortAll(),
    get handshaking() {
      return handshakes.size;
    },
  };
}

/** True for the error of a TLS handshake whose peer closed the connection (ECONNRESET, EPIPE), not one that failed. */
function wentAway(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/** Stops listening and gives up the TLS handshakes in progress; resolves once every socket has closed. */
export function closeListener(listener: Listener): Promise<void> {
  const closed = new Promise<void>((resolve) => listener.server.close(() => resolve()));
  listener.abortHandshakes();
  return closed;
}

/**
 * Dials `host:port`. Plain TCP resolves at once with a socket that is still connecting (connection errors
 * arrive on it). TLS resolves once the handshake is done and the server proved it holds the pinned key,
 * or carries a certificate the given CAs vouch for; nothing has been written on it by then (see
 * {@link dialTls}). `signal` gives a dial up that has not resolved yet; it then rejects with the
 * signal's reason.
 * @throws PinMismatchError when the server's key is not the pinned one
 * @throws TlsHandshakeError when the TLS handshake fails for another reason
 */
export function dial(host: string, port: number, tls: ResolvedClientTls | null, deadline: DialDeadline, plain: Transport, signal?: AbortSignal): Promise<Socket> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!tls) return Promise.resolve(plain.connect({ host, port }));
  return dialTls(host, port, tls, deadline, plain, signal);
}

// Read once, when the handshake completes: Node does not always keep the peer's certificate afterwards.
const peerKeys = new WeakMap<Socket, string | null>();

/** The fingerprint of the key a TLS peer proved it holds, or null for a plain socket or no certificate. */
export function peerFingerprint(socket: Socket): string | null {
  if (socket instanceof SecureSocket) return socket.peerFingerprint;
  const known = peerKeys.get(socket);
  if (known !== undefined) return known;
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerX509Certificate !== 'function') return null;
  const cert = tls.getPeerX509Certificate();
  const value = cert ? fingerprint(cert.publicKey) : null;
  peerKeys.set(socket, value);
  return value;
}

/** True for a TLS socket or one speaking the secure channel. */
export function isEncrypted(socket: Socket): boolean {
  return (socket as Partial<TLSSocket>).encrypted === true;
}

/** How a socket is protected: `'tls'`, `'channel'` (the secure channel) or `'plain'`. */
export function securityOf(socket: Socket): 'tls' | 'channel' | 'plain' {
  if (socket instanceof SecureSocket) return 'channel';
  return isEncrypted(socket) ? 'tls' : 'plain';
}

/** Records sealed and opened on a secure-channel socket; null for any other. */
export function channelRecords(socket: Socket): ChannelRecordCounts | null {
  return socket instanceof SecureSocket ? socket.records : null;
}

