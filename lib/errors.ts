/**
 * Every failure pnetwork reports is a {@link PnetworkError} with a stable string `code`.
 * Codes never change once published; messages may. docs/errors.md lists every code.
 * @module
 */
import { describeThrown } from './describe-thrown.js';

/** Every stable error code pnetwork uses, on the wire and in thrown errors. */
export type ErrorCode =
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_FRAME_INCOMPLETE'
  | 'ERR_FRAME_TIMEOUT'
  | 'ERR_RATE_LIMITED'
  | 'ERR_CONNECTION_LIMIT'
  | 'ERR_PACKET_NOT_OBJECT'
  | 'ERR_PACKET_ACTION'
  | 'ERR_PACKET_ACTION_TOO_LONG'
  | 'ERR_PACKET_FIELD_TYPE'
  | 'ERR_PACKET_UNKNOWN_KEY'
  | 'ERR_PACKET_UTF8'
  | 'ERR_PACKET_JSON'
  | 'ERR_PACKET_TOO_DEEP'
  | 'ERR_HANDSHAKE_REQUIRED'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_PROTOCOL_VERSION'
  | 'ERR_TOKEN_MISMATCH'
  | 'ERR_RESERVED_ACTION'
  | 'ERR_NO_HANDLER'
  | 'ERR_HANDLER'
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_NOT_CONNECTED'
  | 'ERR_LISTEN'
  | 'ERR_SEND_BUFFER_FULL'
  | 'ERR_HEARTBEAT_TIMEOUT'
  | 'ERR_QUEUE_FULL'
  | 'ERR_PACKET_EXPIRED'
  | 'ERR_REMOTE'
  | 'ERR_KEY_INVALID'
  | 'ERR_KEY_FILE_PERMISSIONS'
  | 'ERR_KEY_FILE_EXISTS'
  | 'ERR_DECRYPTION'
  | 'ERR_TLS_PIN_MISMATCH'
  | 'ERR_TLS_CLIENT_UNAUTHORIZED'
  | 'ERR_TLS_HANDSHAKE'
  | 'ERR_ADAPTER_DOWN'
  | 'ERR_PUBLISH'
  | 'ERR_UNKNOWN_CLIENT'
  | 'ERR_CLUSTER_TIMEOUT'
  | 'ERR_STREAM_UNSUPPORTED'
  | 'ERR_STREAM_LIMIT'
  | 'ERR_STREAM_OVERFLOW'
  | 'ERR_STREAM_CREDIT'
  | 'ERR_STREAM_PROTOCOL'
  | 'ERR_STREAM_TIMEOUT'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_MIDDLEWARE_TIMEOUT'
  | 'ERR_AUTH_PROVIDER'
  | 'ERR_CHANNEL_PROTOCOL'
  | 'ERR_CHANNEL_REQUIRED'
  | 'ERR_BAD_SIGNATURE'
  | 'ERR_SERVER_KEY_MISMATCH'
  | 'ERR_KNOWN_HOSTS_MISMATCH'
  | 'ERR_CLIENT_KEY_REFUSED';

/** Base class: a message, a stable `code`, and an optional `cause`. */
export class PnetworkError extends Error {
  /** Stable machine-readable code, such as `ERR_FRAME_TOO_LARGE`. */
  readonly code: ErrorCode;
  /**
   * The {@link Connection.id} of the connection this error concerns, when it concerns one. Set on every
   * such error reported on a Server's or Client's `error$`.
   */
  declare connectionId?: string;
  /** The peer address (`host:port`) of that connection, set together with `connectionId`. */
  declare remoteAddress?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A frame header declared a payload longer than `maxFrameBytes`. Raised before any payload is buffered. */
export class FrameTooLargeError extends PnetworkError {
  constructor(
    /** The length the header declared, in bytes. */
    readonly declared: number,
    /** The limit in force, in bytes. */
    readonly limit: number,
    /** The option that sets it: `maxHandshakeBytes` for a connection's first frame. */
    limitName = 'maxFrameBytes',
  ) {
    super('ERR_FRAME_TOO_LARGE', `frame of ${declared} bytes exceeds ${limitName} ${limit}`);
  }
}

/** The stream ended in the middle of a frame. */
export class IncompleteFrameError extends PnetworkError {
  constructor(
    /** Bytes of the unfinished frame that had arrived. */
    readonly received: number,
  ) {
    super('ERR_FRAME_INCOMPLETE', `stream ended inside a frame after ${received} bytes`);
  }
}

/** A frame started but no more of it arrived within `incompleteFrameTimeoutMs`. The connection closes. */
export class FrameTimeoutError extends PnetworkError {
  constructor(
    /** The limit in force, in ms. */
    readonly timeoutMs: number,
    /** Bytes of the unfinished frame (header included) that had arrived. */
    readonly received: number,
  ) {
    super('ERR_FRAME_TIMEOUT', `frame stalled: no more of it arrived within ${timeoutMs} ms (${received} bytes received)`);
  }
}

/**
 * A packet arrived while its connection was over `maxPacketsPerSecond`; it was not handled. `flood` is
 * true when the connection closes because the excess went on (more refusals than the limit in a second).
 */
export class RateLimitedError extends PnetworkError {
  constructor(
    /** The action of the refused packet. */
    readonly action: string,
    /** The limit in force, in packets per second. */
    readonly limit: number,
    /** True when the connection is closed for it. */
    readonly flood = false,
  ) {
    super('ERR_RATE_LIMITED', flood ? `more than ${limit} packets per second, sustained: closing` : `packet "${action}" refused: more than ${limit} packets per second`);
  }
}

/** A new connection was refused: the server already has `maxConnections`, or its address has `maxConnectionsPerAddress`. */
export class ConnectionLimitError extends PnetworkError {
  constructor(
    /** The limit in force. */
    readonly limit: number,
    /** Which limit: the server's total, or the one per address. */
    readonly scope: 'server' | 'address',
  ) {
    super('ERR_CONNECTION_LIMIT', scope === 'server' ? `server is full (${limit} connections)` : `too many connections from this address (limit ${limit})`);
  }
}

/** Codes a {@link PacketError} may carry. */
export type PacketErrorCode = Extract<
  ErrorCode,
  | 'ERR_PACKET_NOT_OBJECT'
  | 'ERR_PACKET_ACTION'
  | 'ERR_PACKET_ACTION_TOO_LONG'
  | 'ERR_PACKET_FIELD_TYPE'
  | 'ERR_PACKET_UNKNOWN_KEY'
  | 'ERR_PACKET_UTF8'
  | 'ERR_PACKET_JSON'
  | 'ERR_PACKET_TOO_DEEP'
>;

/** A payload that is not a well-formed packet. `code` says which rule it broke. */
export class PacketError extends PnetworkError {
  declare readonly code: PacketErrorCode;

  constructor(code: PacketErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The first packet on a connection was not a handshake, or the handshake was malformed. */
export class HandshakeError extends PnetworkError {
  constructor(message: string, code: 'ERR_HANDSHAKE_REQUIRED' | 'ERR_PROTOCOL_VERSION' = 'ERR_HANDSHAKE_REQUIRED') {
    super(code, message);
  }
}

/** No handshake completed within `handshakeTimeoutMs`. */
export class HandshakeTimeoutError extends PnetworkError {
  constructor(
    /** The time allowed, in ms. */
    readonly timeoutMs: number,
  ) {
    super('ERR_HANDSHAKE_TIMEOUT', `no handshake within ${timeoutMs} ms`);
  }
}

/** A packet carried a token other than the connection's own. The token itself is never included. */
export class TokenMismatchError extends PnetworkError {
  constructor(
    /** The refused packet's action. */
    readonly action: string,
  ) {
    super('ERR_TOKEN_MISMATCH', `packet "${action}" carried a token that is not this connection's`);
  }
}

/** A user tried to send or bind an action name the protocol reserves. */
export class ReservedActionError extends PnetworkError {
  constructor(
    /** The reserved name that was used. */
    readonly action: string,
  ) {
    super('ERR_RESERVED_ACTION', `"${action}" is a reserved action name`);
  }
}

/** A request arrived for an action with no bound handler. */
export class NoHandlerError extends PnetworkError {
  constructor(
    /** The action nobody handles. */
    readonly action: string,
  ) {
    super('ERR_NO_HANDLER', `no handler is bound for "${action}"`);
  }
}

/** A bound handler threw or rejected. `cause` holds what it threw. */
export class HandlerError extends PnetworkError {
  constructor(
    /** The action whose handler failed. */
    readonly action: string,
    cause: unknown,
  ) {
    super('ERR_HANDLER', `handler for "${action}" failed: ${describeThrown(cause)}`, { cause });
  }
}

/** A request got no reply within its `timeoutMs`. */
export class RequestTimeoutError extends PnetworkError {
  constructor(
    /** The request's action. */
    readonly action: string,
    /** The time it waited, in ms. */
    readonly timeoutMs: number,
  ) {
    super('ERR_REQUEST_TIMEOUT', `request "${action}" got no reply within ${timeoutMs} ms`);
  }
}

/** The connection closed while something still waited on it. */
export class ConnectionClosedError extends PnetworkError {
  constructor(
    /** Why the connection closed. */
    readonly reason = 'connection closed',
  ) {
    super('ERR_CONNECTION_CLOSED', reason);
  }
}

/** A server could not listen on its address (taken, not this machine's, no permission); `start()` rejects with it. */
export class ListenError extends PnetworkError {
  /** The system's code for the failure, such as `EADDRINUSE` or `EACCES`; empty when it gave none. */
  readonly systemCode: string;

  constructor(
    /** The host the server tried to listen on. */
    readonly host: string,
    /** The port the server tried to listen on. */
    readonly port: number,
    cause: unknown,
  ) {
    const systemCode = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : '';
    super('ERR_LISTEN', `cannot listen on ${host}:${port}: ${describeThrown(cause)}`, { cause });
    this.systemCode = systemCode;
  }
}

/** A send was attempted while no connection exists and queueing is not possible. */
export class NotConnectedError extends PnetworkError {
  constructor(message = 'not connected') {
    super('ERR_NOT_CONNECTED', message);
  }
}

/**
 * The peer stopped reading: more than `maxSendBufferBytes` waited to be sent and nothing was taken for
 * `sendStallTimeoutMs`. The connection is closed with this as its reason; reported on error$.
 */
export class SendBufferFullError extends PnetworkError {
  constructor(
    /** The limit in force (`maxSendBufferBytes`), in bytes. */
    readonly limit: number,
    /** Bytes waiting when the connection was given up. */
    readonly bufferedBytes = limit,
    /** How long the peer had read nothing, in ms. */
    readonly stalledMs = 0,
  ) {
    super('ERR_SEND_BUFFER_FULL', `peer stopped reading: ${bufferedBytes} bytes waited to be sent (maxSendBufferBytes ${limit}) and none were taken for ${stalledMs} ms`);
  }
}

/** Nothing came from the peer (a pong or any other packet) within `heartbeatTimeoutMs` of a ping. */
export class HeartbeatTimeoutError extends PnetworkError {
  constructor(
    /** The time the peer had, in ms. */
    readonly timeoutMs: number,
  ) {
    super('ERR_HEARTBEAT_TIMEOUT', `nothing from the peer within ${timeoutMs} ms of a ping`);
  }
}

/** The offline queue is full. */
export class QueueFullError extends PnetworkError {
  constructor(
    /** The limit in force, in packets. */
    readonly limit: number,
  ) {
    super('ERR_QUEUE_FULL', `offline queue is full (${limit} packets)`);
  }
}

/** A queued packet outlived its TTL before it could be sent. */
export class PacketExpiredError extends PnetworkError {
  constructor(
    /** The expired packet's action. */
    readonly action: string,
    /** The TTL in force, in ms. */
    readonly ttlMs: number,
  ) {
    super('ERR_PACKET_EXPIRED', `queued packet "${action}" expired after ${ttlMs} ms`);
  }
}

/** The peer answered a request with an error packet; `remoteCode` is the code it sent. */
export class RemoteError extends PnetworkError {
  constructor(
    /** The code the peer sent. */
    readonly remoteCode: string,
    message: string,
  ) {
    super('ERR_REMOTE', message);
  }
}

/**
 * The adapter could not reach its engine, Redis or NATS, when the server started (`start()` rejects), or
 * lost it later (reported on `error$`; the adapter then keeps reconnecting by itself).
 */
export class AdapterDownError extends PnetworkError {
  constructor(
    /** The adapter's kind: `redis`, `nats`. */
    readonly adapter: string,
    cause: unknown,
    /** `'start'` when the engine could not be reached at all, `'lost'` when a working link broke. */
    readonly when: 'start' | 'lost' = 'lost',
  ) {
    super('ERR_ADAPTER_DOWN', `${adapter} adapter ${when === 'start' ? 'could not reach its engine' : 'lost its connection'}: ${describeThrown(cause)}`, { cause });
  }
}

/** A message for other nodes could not be published: the engine was down or did not confirm it. */
export class PublishError extends PnetworkError {
  constructor(
    /** The adapter's kind: `memory`, `redis`, `nats`. */
    readonly adapter: string,
    cause: unknown,
  ) {
    super('ERR_PUBLISH', `${adapter} adapter could not publish: ${describeThrown(cause)}`, { cause });
  }
}

/** No client with this public id is connected to any node of the cluster. */
export class UnknownClientError extends PnetworkError {
  constructor(override readonly connectionId: string) {
    super('ERR_UNKNOWN_CLIENT', `no client "${connectionId}" is connected to the cluster`);
  }
}

/** Another node did not answer within the time allowed. */
export class ClusterTimeoutError extends PnetworkError {
  constructor(
    /** What was asked, such as `fetchClients` or `sendTo`. */
    readonly operation: string,
    /** The node that did not answer. */
    readonly node: string,
    readonly timeoutMs: number,
  ) {
    super('ERR_CLUSTER_TIMEOUT', `node ${node} did not answer ${operation} within ${timeoutMs} ms`);
  }
}

/** The peer did not announce stream support in its handshake, so no stream can be opened to it. */
export class StreamsUnsupportedError extends PnetworkError {
  constructor() {
    super('ERR_STREAM_UNSUPPORTED', 'the peer does not support streams');
  }
}

/** A stream could not be opened: `maxConcurrentStreams` streams are already open on the connection. */
export class StreamLimitError extends PnetworkError {
  constructor(readonly limit: number) {
    super('ERR_STREAM_LIMIT', `${limit} streams are already open on this connection (maxConcurrentStreams)`);
  }
}

/** A stream's producer ran more than `maxStreamBufferedValues` ahead of the credit the consumer granted. */
export class StreamOverflowError extends PnetworkError {
  constructor(readonly limit: number) {
    super('ERR_STREAM_OVERFLOW', `stream producer got more than ${limit} values ahead of its consumer (maxStreamBufferedValues)`);
  }
}

/** A credit grant that is not a whole number from 1 to 2^31 − 1, or that would raise the credit above it; or values beyond the credit. */
export class StreamCreditError extends PnetworkError {
  constructor(message: string) {
    super('ERR_STREAM_CREDIT', message);
  }
}

/** A stream packet that breaks the stream rules of docs/protocol.md (a bad or reused stream id, a missing field). */
export class StreamProtocolError extends PnetworkError {
  constructor(message: string) {
    super('ERR_STREAM_PROTOCOL', message);
  }
}

/** A stream's first value, or its next value, did not arrive in time. */
export class StreamTimeoutError extends PnetworkError {
  constructor(
    /** `first` for the first-value timeout, `idle` for the timeout between values. */
    readonly kind: 'first' | 'idle',
    readonly timeoutMs: number,
  ) {
    super('ERR_STREAM_TIMEOUT', kind === 'first' ? `no stream value within ${timeoutMs} ms` : `no further stream value within ${timeoutMs} ms`);
  }
}

/**
 * The server's middleware refused a connection during its handshake. `code` is `ERR_UNAUTHORIZED`, or
 * the code of the {@link ReplyError} the middleware threw; `cause` holds what it threw, which is never
 * sent. The client is sent the code and message with `retry: false`.
 */
export class UnauthorizedError extends PnetworkError {
  /** A refusal tells the client not to try again. */
  readonly retry = false;

  constructor(code: string = 'ERR_UNAUTHORIZED', message = 'connection refused', options?: { cause?: unknown }) {
    super(code as ErrorCode, message, options);
  }
}

/** The server's middleware did not accept or refuse a connection within `handshakeTimeoutMs`. */
export class MiddlewareTimeoutError extends PnetworkError {
  constructor(readonly timeoutMs: number) {
    super('ERR_MIDDLEWARE_TIMEOUT', `middleware did not admit the connection within ${timeoutMs} ms`);
  }
}

/** The client's `auth` function threw or rejected, so no handshake was sent. `cause` holds what it threw. */
export class AuthProviderError extends PnetworkError {
  constructor(cause: unknown) {
    super('ERR_AUTH_PROVIDER', `the auth function failed: ${describeThrown(cause)}`, { cause });
  }
}

/**
 * The server refused this client's handshake and asked it not to retry (`retry: false` in its `error`
 * packet): `client.start()` rejects with it, and reconnection stops unless `retryRefused` is set.
 * `remoteCode` is the server's code, such as `ERR_UNAUTHORIZED`.
 */
export class ConnectionRefusedError extends RemoteError {
  /** The server asked the client not to try again. */
  readonly retry = false;
}

/**
 * The RemoteError an `error` packet's data describes; missing or odd fields get stand-ins, so a peer's
 * malformed error still arrives as an error.
 */
export function remoteErrorFrom(data: unknown, fallbackMessage: string): RemoteError {
  const fields = (typeof data === 'object' && data !== null ? data : {}) as { code?: unknown; message?: unknown };
  // The fields come from the peer: a code that is not text is no code; a message that is not text is shown as JSON.
  const code = typeof fields.code === 'string' || typeof fields.code === 'number' ? String(fields.code) : 'ERR_REMOTE';
  const message = typeof fields.message === 'string' ? fields.message : fields.message === undefined || fields.message === null ? fallbackMessage : jsonOrNothing(fields.message) ?? fallbackMessage;
  return new RemoteError(code, message);
}

function jsonOrNothing(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** A key (or key file) that is missing, unparsable, not RSA, too small, or not the other half of its pair. Never quotes key material. */
export class InvalidKeyError extends PnetworkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_INVALID', message, options);
  }
}

/** A private key file others can read or write; refused unless loading is forced. */
export class KeyFilePermissionsError extends PnetworkError {
  constructor(
    /** The file refused. */
    readonly path: string,
    /** Its permission bits, such as 0o644. */
    readonly mode: number,
  ) {
    super('ERR_KEY_FILE_PERMISSIONS', `private key file ${path} has mode ${mode.toString(8).padStart(4, '0')}; others can read it (chmod 600, or load with force)`);
  }
}

/** Saving keys would overwrite an existing key file. */
export class KeyFileExistsError extends PnetworkError {
  constructor(readonly path: string) {
    super('ERR_KEY_FILE_EXISTS', `${path} already exists; refusing to overwrite a key file`);
  }
}

/**
 * A sealed packet or a secure-channel record could not be opened: it was tampered with, truncated,
 * malformed, replayed, reordered, or sealed for another key. Deliberately one error for all of these,
 * so a peer learns nothing from which check failed.
 */
export class DecryptionError extends PnetworkError {
  constructor(message = 'sealed packet could not be opened', options?: { cause?: unknown }) {
    super('ERR_DECRYPTION', message, options);
  }
}

/** The TLS server presented a key whose fingerprint is not the pinned one. Nothing was sent to it. */
export class PinMismatchError extends PnetworkError {
  constructor(
    /** The pinned fingerprint (public). */
    readonly expected: string,
    /** The fingerprint the server presented (public). */
    readonly actual: string,
  ) {
    super('ERR_TLS_PIN_MISMATCH', `server key fingerprint ${actual} does not match the pinned ${expected}`);
  }
}

/** A TLS client presented no certificate, or one whose key is not among the server's `authorizedKeys`. */
export class UnauthorizedClientError extends PnetworkError {
  constructor(message = 'client certificate is missing or not authorized') {
    super('ERR_TLS_CLIENT_UNAUTHORIZED', message);
  }
}

/**
 * Thrown by a handler to answer a request with an error the peer may see: its `code` and `message` are
 * sent as they are. Anything else a handler throws reaches the peer only as `ERR_HANDLER` with a generic
 * message (see `errorForPeer` in lib/router.ts), so internals such as a database error never leave the process.
 * @example
 * server.bindAction('withdraw', ({ amount }) => {
 *   if (amount > 100) throw new ReplyError('APP_LIMIT', 'limit is 100');
 *   return 'ok';
 * });
 */
export class ReplyError extends Error {
  /** The code the peer receives, such as `APP_LIMIT`. */
  readonly code: string;

  /** @throws TypeError when `code` is not a non-empty string */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    if (typeof code !== 'string' || code.length === 0) throw new TypeError('ReplyError code must be a non-empty string');
    this.code = code;
    this.name = 'ReplyError';
  }
}

/** The two things an error says about a connection: which one, and where its peer is. */
export interface ConnectionRef {
  readonly id: string;
  readonly remoteAddress: string;
}

/**
 * Marks `error` as concerning `connection` (unless it already names one) and returns it. Only the id and
 * address are kept, never the connection itself: an error may be logged, and a connection holds a secret.
 */
export function aboutConnection<E extends PnetworkError>(error: E, connection: ConnectionRef): E {
  if (error.connectionId === undefined) {
    error.connectionId = connection.id;
    error.remoteAddress = connection.remoteAddress;
  }
  return error;
}

/** A TLS handshake failed: wrong protocol version, a certificate the given CAs do not vouch for, a peer that is not TLS. `cause` holds Node's error. */
export class TlsHandshakeError extends PnetworkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS_HANDSHAKE', message, options);
  }
}



/** The secure channel's key exchange or record stream broke its rules (a malformed message, an unknown record type, a spent key). */
export class ChannelProtocolError extends PnetworkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CHANNEL_PROTOCOL', message, options);
  }
}

/** A server with `encryption` was reached by a client that did not start the secure channel. */
export class ChannelRequiredError extends PnetworkError {
  constructor() {
    super('ERR_CHANNEL_REQUIRED', 'this server accepts only encrypted connections: set the client\'s encryption option');
  }
}

/** A signature over the key exchange did not verify. */
export class SignatureError extends PnetworkError {
  constructor(message: string) {
    super('ERR_BAD_SIGNATURE', message);
  }
}

/** The server's key is not the one the client pinned. Fingerprints are public, so both are named. */
export class ServerKeyMismatchError extends PnetworkError {
  constructor(
    /** The fingerprint the server presented. */
    readonly fingerprint: string,
    /** The fingerprints the client accepts. */
    readonly expected: readonly string[],
  ) {
    super('ERR_SERVER_KEY_MISMATCH', `the server's key ${fingerprint} is not the pinned key (${expected.join(', ')})`);
  }
}

/** The server's key differs from the one a known_hosts file holds for that address. */
export class KnownHostsMismatchError extends PnetworkError {
  constructor(
    /** The known_hosts file. */
    readonly file: string,
    /** The `host:port` entry. */
    readonly host: string,
    /** The fingerprint the server presented. */
    readonly fingerprint: string,
  ) {
    super('ERR_KNOWN_HOSTS_MISMATCH', `the key of ${host} changed: it presented ${fingerprint}, which ${file} does not hold for it; if the key was rotated on purpose, edit that file`);
  }
}

/** The server refused the client's key (or its lack of one): it is not in `authorizedKeys`. */
export class ClientKeyRefusedError extends PnetworkError {
  constructor(
    /** The client key's fingerprint, or null when the client presented none. */
    readonly fingerprint: string | null,
  ) {
    super('ERR_CLIENT_KEY_REFUSED', fingerprint === null ? 'this server requires a client key, and none was presented' : `client key ${fingerprint} is not authorized`);
  }
}
