/**
 * The adapter interface: how a server reaches the servers in other processes. An adapter is only a
 * message bus (publish a string on a channel, receive what others publish on the channels it
 * subscribed to, and say when the engine is up or down); membership, directed sends, requests and the
 * client directory are built on top of it once, in the cluster layer, for every engine.
 * @module
 */

/** What an adapter reports besides messages. */
export type AdapterStatus =
  /** Connected and subscribed; `reconnected` is true when this follows an outage. */
  | { readonly state: 'up'; readonly reconnected: boolean }
  /** The engine cannot be reached; the adapter keeps trying on its own. */
  | { readonly state: 'down'; readonly error: Error };

/** Where an adapter delivers what it receives. */
export interface AdapterListener {
  /** A message published on one of the subscribed channels (by any node, this one included). */
  message(channel: string, message: string): void;
  /** The engine went down, or came back up (open() resolving is the first "up"). */
  status(status: AdapterStatus): void;
}

/**
 * A message bus between server processes. Implementations: {@link memoryAdapter} (the default, one
 * process), `redisAdapter` (Redis pub/sub) and `natsAdapter` (NATS core subjects).
 *
 * Contract: messages one adapter publishes on one channel reach each subscriber in the order they were
 * published; a message is delivered at most once (never redelivered after a reconnect); a publish that
 * the engine did not accept rejects.
 */
export interface Adapter {
  /** A short name for the engine, shown by the console: `memory`, `redis`, `nats`. */
  readonly kind: string;
  /**
   * True when no other server can ever be reached through this adapter (an in-memory adapter with a
   * bus of its own): the server then neither opens it nor publishes, and works exactly as one process.
   */
  readonly solitary?: boolean;
  /**
   * Connects and subscribes to `channels`. Resolves once messages on them are being received; rejects
   * when the engine cannot be reached at first (after which the adapter is closed).
   */
  open(channels: readonly string[], listener: AdapterListener): Promise<void>;
  /**
   * Publishes `message` on `channel`. Resolves once the engine has accepted it; rejects with
   * PublishError when it could not (the engine is down, the connection dropped before it was confirmed).
   */
  publish(channel: string, message: string): Promise<void>;
  /** Unsubscribes and disconnects. Safe to call more than once. */
  close(): Promise<void>;
}
