/**
 * The one small interface every benchmarked system implements, so scenarios are written once.
 * Server side: `createServer(hooks)`; client side: `connect(port, options)`.
 * @module
 */

/** The packet-like message every system carries. */
export interface BenchPacket {
  action: string;
  data: unknown;
  'packet-created': number;
  token: string | null;
  id?: number;
}

/** What a server does with what it receives. Actions not listed are a verification error. */
export interface ServerHooks {
  /** Actions handled one-way (no reply). */
  readonly oneWay: readonly string[];
  /** One-way handler. */
  onMessage(action: string, data: unknown): void;
  /** Actions answered as requests. */
  readonly requests: readonly string[];
  /** Request handler: the return value is the reply data. */
  onRequest(action: string, data: unknown): unknown;
  /** Called when something arrives that the server cannot route (counted as a verification error). */
  onUnexpected(what: string): void;
  /** Actions answered with a stream of values (systems with streams only). */
  readonly streams?: readonly string[];
  /** Stream handler: the values to send, in order. */
  onStream?(action: string, data: unknown): Iterable<unknown>;
}

/** A running benchmark server. */
export interface BenchServer {
  /** Listens on 127.0.0.1 with an OS-chosen port and resolves with it. */
  start(): Promise<number>;
  /** Connections that completed their handshake and are still open. */
  clientCount(): number;
  /** Sends one packet to every connected client; resolves with the number of recipients. */
  broadcast(action: string, data: unknown): Promise<number>;
  /** Stops listening and closes connections (best effort: child processes are killed afterwards anyway). */
  stop(): Promise<void>;
}

/** Options for a client connection. */
export interface ConnectOptions {
  /** Actions the server may push to this client (broadcasts). */
  readonly pushActions: readonly string[];
  /** Called for each pushed packet. */
  onPush(action: string, data: unknown): void;
}

/** One client connection. */
export interface BenchConnection {
  /**
   * Sends one one-way message. Returns undefined when the caller may send the next one at once, or a
   * promise the caller must await first (backpressure).
   */
  send(action: string, data: unknown): Promise<void> | undefined;
  /** Sends a request and resolves with the reply data. */
  request(action: string, data: unknown): Promise<unknown>;
  /** Closes the connection (best effort). */
  close(): void;
  /**
   * Opens a stream (systems with streams only): calls `onValue` for each value and resolves when the
   * stream completes, or rejects with its error.
   */
  stream?(action: string, data: unknown, onValue: (value: unknown) => void): Promise<void>;
}

/** A system under test: both halves. */
export interface BenchSystem {
  /** Short name used on the command line and in reports. */
  readonly name: string;
  createServer(hooks: ServerHooks): BenchServer;
  connect(port: number, options: ConnectOptions): Promise<BenchConnection>;
}

/** Host everything binds to and connects to. */
export const HOST = '127.0.0.1';

/** High-water mark for client-side buffering before a sender waits, in bytes. */
export const SEND_HIGH_WATER = 1024 * 1024;

/** Builds a packet stamped with the current time. */
export function makePacket(action: string, data: unknown, token: string | null, id?: number): BenchPacket {
  const packet: BenchPacket = { action, data, 'packet-created': Date.now(), token };
  if (id !== undefined) packet.id = id;
  return packet;
}

/** Pending requests keyed by id. */
export class PendingRequests {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  /** Registers a request and returns its id and the promise of its reply. */
  open(): { id: number; reply: Promise<unknown> } {
    const id = this.next++;
    const reply = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    return { id, reply };
  }

  /** Settles the request with this id; returns false when no such request is pending. */
  settle(id: number | undefined, data: unknown): boolean {
    if (id === undefined) return false;
    const entry = this.waiting.get(id);
    if (!entry) return false;
    this.waiting.delete(id);
    entry.resolve(data);
    return true;
  }

  /** Rejects everything still pending. */
  failAll(error: Error): void {
    for (const entry of this.waiting.values()) entry.reject(error);
    this.waiting.clear();
  }
}

/** Builds a routing table from the hooks: action name → handler. */
export function routes(hooks: ServerHooks): Map<string, { reply: boolean }> {
  const table = new Map<string, { reply: boolean }>();
  for (const action of hooks.oneWay) table.set(action, { reply: false });
  for (const action of hooks.requests) table.set(action, { reply: true });
  return table;
}
