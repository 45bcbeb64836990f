/**
 * The parts of Server, Client and Connection the console uses, as structural types. The console
 * depends on this surface only, so any Server or Client (whatever its action maps) fits, and so does a
 * test double.
 * @module
 */
import type { Observable } from 'rxjs';
import type { TrafficTotals } from './rates.js';
import type { ConsoleCluster, ConsoleClusterClient } from './commands/cluster-view.js';
import type { HostPort } from '../types.js';

/** The packet fields the console reads. */
export interface ConsolePacket {
  /** The action name. */
  action: string;
  /** The payload. */
  data: unknown;
}

/** The parts of a Connection the console uses. */
export interface ConsoleConnection {
  /** The connection's secret token; the console shows only its first 8 characters by default. */
  readonly token: string;
  /** The peer's address, `host:port`. */
  readonly remoteAddress: string;
  /** When the connection opened, in ms since the epoch. */
  readonly connectedAt: number;
  /** Live traffic counters. */
  readonly stats: TrafficTotals;
  /** Sends a one-way packet. */
  sendPacket(action: string, data: unknown): Promise<void>;
  /** Closes the connection, telling the peer why; `retry: false` asks it not to reconnect. */
  close(reason?: string, options?: { retry?: boolean }): Promise<void>;
  /** The connection's public id (unrelated to the token); shown instead of the token when present. */
  readonly id?: string;
  /** The rooms it is in. */
  readonly rooms?: ReadonlySet<string>;
  /** Who is on the other end, as the application names it (never the credential). */
  readonly subject?: string | undefined;
  /** Streams open on the connection now, in both directions (absent: none). */
  readonly openStreams?: number;
}

/** A packet with the connection it came in on. */
export interface ConsoleEnvelope {
  /** The packet. */
  readonly packet: ConsolePacket;
  /** The connection it arrived on. */
  readonly connection: ConsoleConnection;
}

/** Cumulative counters of a whole Server or Client. */
export interface ConsoleStats extends TrafficTotals {
  /** When `start()` completed, in ms since the epoch; null before. */
  startedAt: number | null;
  /** Connections open now. */
  clients: number;
}

/** What both sides offer the console. */
interface ConsoleInstance {
  /** Stops gracefully. */
  stop(): Promise<void>;
  /** Every incoming packet (the console's live log reads it). */
  readonly packets$: Observable<ConsoleEnvelope>;
  /** Bound action names with their handler hit counts. */
  boundActions(): ReadonlyMap<string, number>;
  /** Cumulative traffic counters. */
  stats(): ConsoleStats;
  /** The server's address: where it listens, or where a client connects. */
  address(): HostPort;
}

/** How a connection is protected, as `security` reports it. */
export type SecurityMode = 'tls' | 'channel' | 'plain';

/** The parts of a Server the console uses. */
export interface ConsoleServer extends ConsoleInstance {
  /** True while listening; when absent, the console goes by `stats().startedAt`. */
  readonly listening?: boolean;
  /** Open connections, keyed by token. */
  readonly clients: ReadonlyMap<string, ConsoleConnection>;
  /** True when serving TLS or the secure channel. */
  readonly encrypted?: boolean;
  /** How connections are protected: `'tls'`, `'channel'` (the secure channel) or `'plain'`. */
  readonly security?: SecurityMode;
  /** The server key's fingerprint when serving TLS or the secure channel. */
  readonly fingerprint?: string | null;
  /** Sends to every client; resolves with the number of recipients. */
  broadcast(action: string, data: unknown): Promise<number>;
  /** Room membership: each room with its member count. */
  readonly rooms?: {
    /** Members per room. */
    counts(): ReadonlyMap<string, number>;
  };
  /** Handshakes refused so far, by code. */
  refusals?(): ReadonlyMap<string, number>;
  /** The cluster this server is a node of (shown when an adapter joins it to others). */
  readonly cluster?: ConsoleCluster;
  /** Every client of the cluster. */
  fetchClients?(): Promise<readonly ConsoleClusterClient[]>;
}

/** A client's connection state, as `client.state` reports it. */
export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** The parts of a Client the console uses. */
export interface ConsoleClient extends ConsoleInstance {
  /** The state now. */
  readonly state: ClientState;
  /** The state, replaying the current one on subscription. */
  readonly state$: Observable<ClientState>;
  /** This client's token once connected. */
  readonly token: string | null;
  /** The current connection: its public id, whether it is encrypted, and the server key's fingerprint. */
  readonly connection?: {
    /** The connection's public id (never the token). */
    readonly id?: string;
    /** True over TLS or the secure channel. */
    readonly encrypted?: boolean;
    /** `'tls'`, `'channel'` (the secure channel) or `'plain'`. */
    readonly security?: SecurityMode;
    /** On the secure channel, the records sealed and opened so far. */
    readonly channelRecords?: { readonly sent: number; readonly received: number } | null;
    /** The server key's fingerprint, when it proved one. */
    readonly peerFingerprint?: string | null;
  } | null;
  /** Sends a one-way packet to the server. */
  sendPacket(action: string, data: unknown): Promise<void>;
  /** Sends a request and resolves with the reply's data. */
  request(action: string, data: unknown): Promise<unknown>;
  /** Requests a stream: a cold Observable of the server's values; unsubscribing cancels it. */
  stream(action: string, data: unknown): Observable<unknown>;
  /** Drops the socket and connects again. */
  reconnect(): Promise<void>;
  /** The reason each time the connection is lost; the console prints it. */
  readonly disconnect$?: Observable<string>;
}

/**
 * Tells a client from a server by shape.
 * @param instance either
 */
export function isConsoleClient(instance: ConsoleServer | ConsoleClient): instance is ConsoleClient {
  return 'state$' in instance && 'reconnect' in instance;
}
