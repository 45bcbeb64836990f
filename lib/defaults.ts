/**
 * Every default and limit in one frozen object. Public entry points merge user options over it once;
 * lower layers take explicit values and keep no defaults of their own.
 * @module
 */

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** Defaults for every tunable, in one place. */
export const DEFAULTS = Object.freeze({
  /** Host servers bind to and clients connect to. */
  host: '127.0.0.1',
  /** TCP port; 0 asks the OS for a free one (servers only). */
  port: 25565,
  /** Largest frame payload accepted or sent, in bytes (1 MiB). Checked against the declared length. */
  maxFrameBytes: 1024 * 1024,
  /** Largest first frame (the handshake) accepted, in bytes (64 KiB). */
  maxHandshakeBytes: 64 * 1024,
  /** Backlog above which a connection is not `writable`, and which a peer that stops reading may not keep (8 MiB). */
  maxSendBufferBytes: 8 * 1024 * 1024,
  /** Time a peer may read nothing while more than maxSendBufferBytes wait before it is disconnected, in ms. */
  sendStallTimeoutMs: 10_000,
  /** Longest action name, in UTF-16 code units. */
  maxActionLength: 256,
  /** Deepest nesting of arrays and objects allowed in `data`. */
  maxDepth: 64,
  /** Time a new connection has to complete its handshake, in ms. */
  handshakeTimeoutMs: 10_000,
  /** Default time a request waits for its reply, in ms. */
  requestTimeoutMs: 10_000,
  /** Interval between pings, in ms. */
  heartbeatIntervalMs: 25_000,
  /** Time a peer has to answer a ping before it is closed, in ms. */
  heartbeatTimeoutMs: 20_000,
  /** Whether a client reconnects after losing its connection. */
  reconnect: true,
  /** First reconnection delay, in ms. */
  reconnectDelayMs: 500,
  /** Cap on the reconnection delay, in ms. */
  reconnectDelayMaxMs: 10_000,
  /** Jitter as a fraction of each delay: the delay is drawn from [d·(1−j), d]. */
  reconnectJitter: 0.5,
  /** Attempts before giving up; Infinity retries for ever. */
  reconnectAttempts: Number.POSITIVE_INFINITY,
  /** Packets a client holds while disconnected. */
  maxQueuedPackets: 1000,
  /** Time a queued packet may wait before it is rejected, in ms; Infinity keeps it until sent. */
  queuedPacketTtlMs: Number.POSITIVE_INFINITY,
  /** Time `stop()` waits for peers to close before destroying their sockets, in ms. */
  closeTimeoutMs: 5_000,
  /** Time a started frame may go without more bytes before the connection is closed, in ms. */
  incompleteFrameTimeoutMs: 30_000,
  /** Handler invocations one connection may have in flight; above it the socket stops reading. */
  maxConcurrentHandlers: 256,
  /** Packets per second one connection may send (a token bucket, bursts up to one second's worth); Infinity is off. */
  maxPacketsPerSecond: Number.POSITIVE_INFINITY,
  /** Connections a server holds at once (before and after their handshake); more are refused. */
  maxConnections: 10_000,
  /** Connections a server holds at once from one IP address; Infinity is off. */
  maxConnectionsPerAddress: Number.POSITIVE_INFINITY,
  /** RSA modulus size `createEncryptKeys()` and `pnetwork keygen` use, in bits. */
  encryptKeyBits: 3072,
  /** Days a self-signed certificate made by pnetwork stays valid (a client that pins its key refuses it once expired). */
  certificateValidityDays: 3650,
  /** Server certificates a process remembers for pinned TLS connections, one per pinned key (oldest dropped first). */
  maxPinnedCertificates: 64,
  /** The Redis `redisAdapter` connects to. */
  redisUrl: 'redis://127.0.0.1:6379',
  /** Longest wait between the Redis adapter's reconnection attempts, in ms. */
  redisMaxReconnectDelayMs: 2_000,
  /** The NATS server(s) `natsAdapter` connects to. */
  natsServers: '127.0.0.1:4222',
  /** Wait between the NATS adapter's reconnection attempts, in ms. */
  natsReconnectDelayMs: 250,
  /** Prefix of a cluster's channels on the adapter's engine: clusters with other names ignore each other. */
  clusterName: 'pnetwork',
  /** Interval between a node's heartbeats to the other nodes, in ms. */
  clusterHeartbeatIntervalMs: 2_000,
  /** A node not heard from for this long leaves the cluster view, in ms. */
  clusterNodeTimeoutMs: 6_000,
  /** Time another node has to answer (a directed send, a client list), in ms; requests add their own timeout. */
  clusterTimeoutMs: 5_000,
  /** Credit a stream's consumer grants at the start: values the producer may send before more is granted. */
  streamPrefetch: 256,
  /** Streams one connection may have open at once in each direction (opened by this side, opened by the peer). */
  maxConcurrentStreams: 1024,
  /** Values a stream's producer may run ahead of the credit (and of a full socket) before the stream fails with ERR_STREAM_OVERFLOW. */
  maxStreamBufferedValues: 1024,
  /** Cipher library sealed packets use: 'node' (node:crypto) or 'forge' (pure JavaScript). */
  sealedPacketBackend: 'node' as 'node' | 'forge',
  /** Records the secure channel seals under one key before it updates the key (2^20, well below 2^24). */
  channelRekeyRecords: 1_048_576,
});

/** The shape of {@link DEFAULTS}. */
export type Defaults = typeof DEFAULTS;
