/**
 * pnetwork: typed, reactive, message-based TCP servers and clients on RxJS.
 * @packageDocumentation
 */
export * from './errors.js';
export { DEFAULTS, PROTOCOL_VERSION, type Defaults } from './defaults.js';
export { FrameDecoder, encodeFrame, encodeTextFrame, FRAME_HEADER_BYTES, MAX_DECLARABLE_LENGTH } from './protocol/frame.js';
export { jsonCodec, JSON_CODEC, isTextCodec, type Codec, type TextCodec } from './protocol/codec.js';
export { createPacket, validatePacket, RESERVED_ACTIONS, type Packet, type PacketLimits, type JsonValue } from './protocol/packet.js';
export { decodeFrames, type DecodeFramesConfig } from './operators/decode-frames.js';
export { encodeFrames, type EncodeFramesConfig } from './operators/encode-frames.js';
export { decodePackets, decodePacketsOrErrors } from './operators/decode-packets.js';
export { encodePackets } from './operators/encode-packets.js';
export { ofAction, type ActionNamed } from './operators/of-action.js';
export { serverHandshake, clientHandshake, type HandshakeEvent, type HandshakeDone, type PacketAccepted, type PacketRejected, type ServerHandshakeConfig, type ClientHandshakeConfig } from './operators/handshake.js';
export { heartbeat, type HeartbeatConfig } from './operators/heartbeat.js';
export { HeartbeatMonitor, type HeartbeatTiming, type HeartbeatListener } from './liveness/heartbeat-monitor.js';
export { backoffDelay, retryWithBackoff, type BackoffConfig, type RetryWithBackoffConfig } from './reconnect/backoff.js';
export { OfflineQueue, type OfflineQueueConfig, type EnqueueOptions } from './reconnect/offline-queue.js';
export { Server, type ServerOptions, type ConnectionLimitOptions, type DisconnectEvent } from './server.js';
export { Client, type ClientOptions, type ClientState, type ReconnectAttempt, type AuthOption } from './client.js';
export { Connection, type CloseOptions } from './connection.js';
export { netTransport, type Transport } from './transport/transport.js';
export { ServerConnection, type AnyData } from './server-connection.js';
export { runMiddleware, type Middleware, type MiddlewareConfig } from './middleware/run-middleware.js';
export { InMemoryRooms } from './rooms/in-memory-rooms.js';
export { checkRoomName, type RoomRegistry } from './rooms/room-registry.js';
export { RoomTarget, type RoomDelivery } from './rooms/room-target.js';
export { Bind } from './bind.js';
export type { CommonOptions } from './options.js';
export type { ActionMap, AnyActions, ActionName, DataOf, ReplyOf, HandlerResult, Envelope, TrafficStats, InstanceStats, RequestOptions, Binding, HostPort, IsAny } from './types.js';
export { createEncryptKeys, fingerprint, saveKeys, loadKeys, KEY_FILES, type EncryptKeys, type CreateEncryptKeysOptions, type SaveKeysOptions, type LoadKeysOptions } from './crypto/keys.js';
export { selfSignedCertificate, type SelfSignedCertificateOptions } from './crypto/certificate.js';
export type { Adapter, AdapterListener, AdapterStatus } from './adapters/adapter.js';
export { memoryAdapter, MemoryBus, type MemoryAdapterOptions } from './adapters/memory.js';
export { redisAdapter, type RedisAdapterOptions } from './adapters/redis.js';
export { natsAdapter, type NatsAdapterOptions } from './adapters/nats.js';
export type { Stream, ElementOf, StreamSource, StreamOptions, DemandStream, DemandStreamOptions } from './types.js';
export { STREAM_ACTIONS, MAX_STREAM_CREDIT, MAX_STREAM_ID, type StreamAction } from './protocol/stream-packets.js';
export { Cluster, type ClusterNode, type ClusterStatus } from './cluster/cluster.js';
export type { ClusterClient } from './cluster/messages.js';
export type { ClusterOptions } from './cluster/cluster-options.js';
export { encryptPacket, decryptPacket, SEALED_ACTION, SEALED_VERSION, type SealedPacket, type SealedData, type KeyInput, type SealOptions, type OpenOptions } from './crypto/sealed-packet.js';
export type { CipherBackend, CipherBackendName, Sealed } from './crypto/cipher-backend.js';
export { encodePacket, decodePacket } from './protocol/packet-text.js';
export { encryptPackets } from './operators/encrypt-packets.js';
export { decryptPackets } from './operators/decrypt-packets.js';
export type { ServerTlsOptions, ClientTlsOptions } from './transport/tls-options.js';
