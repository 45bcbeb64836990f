import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionClosedError, PacketExpiredError, QueueFullError } from '../errors.js';
import { checkDelay } from '../timing.js';

/** Options for {@link OfflineQueue}. Callers pass `DEFAULTS.maxQueuedPackets` / `DEFAULTS.queuedPacketTtlMs`. */
export interface OfflineQueueConfig {
  /** Most items held at once; an integer ≥ 0 (0 refuses every item). */
  limit: number;
  /** Longest an item may wait in the queue, in ms; `Infinity` keeps it until it is sent. Above 0 and at most 2^31 − 1. */
  ttlMs: number;
  /** Scheduler for the TTL timers. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
}

/** Per-item settings for {@link OfflineQueue.enqueue}. */
export interface EnqueueOptions {
  /** This item's own time limit, in ms, when shorter than the queue's TTL (a request's timeout). */
  ttlMs?: number;
  /** The error this item rejects with when its time is up. @defaultValue PacketExpiredError */
  expired?: () => Error;
}

/** One queued item, its label for errors, its settle functions and its TTL timer. */
interface Entry<T> {
  readonly item: T;
  readonly label: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  expiry: Subscription | null;
}

/**
 * Holds items (packets) while there is no connection, and sends them in order once there is one.
 *
 * - {@link OfflineQueue.enqueue} returns a promise that settles with the item's fate: it resolves once the
 *   item is sent by a later {@link OfflineQueue.flush}, and rejects with `QueueFullError` at once when the
 *   queue holds `limit` items, with `PacketExpiredError` when the item waited `ttlMs` without being sent
 *   (it is then removed), with the send error when its send fails, or with the error given to
 *   {@link OfflineQueue.rejectAll} / {@link OfflineQueue.clear}.
 * - An item leaves the queue, and its TTL stops, when its send *starts*: an item in flight never expires.
 * - TTL timers run on the injected scheduler; nothing else is timed.
 *
 * The owner must handle every promise it gets (`enqueue`'s go to the user; `flush` rejects when a send fails).
 * @example
 * const queue = new OfflineQueue<Packet>({ limit: DEFAULTS.maxQueuedPackets, ttlMs: DEFAULTS.queuedPacketTtlMs });
 * const sent = queue.enqueue(packet, packet.action); // while disconnected
 * // once connected:
 * queue.flush((p) => connection.sendPacket(p)).catch(() => undefined); // failures also reach each enqueue promise
 */
export class OfflineQueue<T> {
  readonly #limit: number;
  readonly #ttlMs: number;
  readonly #scheduler: SchedulerLike;
  #entries: Entry<T>[] = [];
  #flushing: Promise<void> | null = null;
  // Set and cleared synchronously by the drain loop itself, so that the moment the last item's promise
  // resolves, a caller already sees the queue idle and empty (a then-callback must not queue behind it).
  #draining = false;

  /**
   * @param config - limit, TTL and scheduler.
   * @throws RangeError when `limit` is not an integer ≥ 0, or `ttlMs` is not a delay a timer can wait (above 0, at most 2^31 − 1) or Infinity.
   */
  constructor(config: OfflineQueueConfig) {
    const { limit, ttlMs, scheduler = asyncScheduler } = config;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`offline queue limit must be an integer >= 0, got ${limit}`);
    }
    checkDelay('offline queue ttlMs', ttlMs, { infinite: true });
    this.#limit = limit;
    this.#ttlMs = ttlMs;
    this.#scheduler = scheduler;
  }

  /** Items waiting to be sent (not counting one whose send is in progress). */
  get size(): number {
    return this.#entries.length;
  }

  /** Whether a {@link OfflineQueue.flush} is in progress. */
  get flushing(): boolean {
    return this.#draining;
  }

  /**
   * Appends an item.
   * @param item - what to send later.
   * @param label - names the item in `PacketExpiredError` (the packet's action).
   * @param options - a shorter time limit for this item, and the error it then rejects with.
   * @returns a promise that resolves when the item is sent, or rejects: `QueueFullError` (at once, the item
   * is not queued), `PacketExpiredError` (after `ttlMs`), the send error, or the `rejectAll` error.
   */
  enqueue(item: T, label: string, options: EnqueueOptions = {}): Promise<void> {
    if (this.#entries.length >= this.#limit) {
      return Promise.reject(new QueueFullError(this.#limit));
    }
    const own = options.ttlMs !== undefined && options.ttlMs < this.#ttlMs;
    const ttlMs = own ? options.ttlMs! : this.#ttlMs;
    const expired = own && options.expired ? options.expired : () => new PacketExpiredError(label, ttlMs);
    return new Promise<void>((resolve, reject) => {
      const entry: Entry<T> = { item, label, resolve, reject, expiry: null };
      if (Number.isFinite(ttlMs)) {
        entry.expiry = this.#scheduler.schedule(() => {
          entry.expiry = null;
          if (this.#remove(entry)) reject(expired());
        }, ttlMs);
      }
      this.#entries.push(entry);
    });
  }

  /**
   * Sends the queued items in FIFO order, one at a time, each after the previous send settled. Items
   * enqueued meanwhile are appended and sent in the same run. Resolves once the queue is empty.
   *
   * Each item's `enqueue` promise resolves when its `send` resolves. When a `send` rejects (or throws),
   * that item's promise rejects with the error, flushing **stops**, the remaining items stay queued in
   * their order (their TTLs keep running), and the returned promise rejects with the same error. A later
   * `flush` resumes with the next item; the failed item is not retried.
   *
   * Calling `flush` while a flush is in progress returns the running flush's promise and ignores the
   * new `send`.
   * @param send - sends one item; its promise settles when the item is written (or fails).
   * @returns a promise for the end of the flush.
   */
  flush(send: (item: T) => Promise<void>): Promise<void> {
    if (this.#draining) return this.#flushing!;
    const run = this.#drain(send);
    // A drain that ended before its first await (empty queue, a send that threw) is already over.
    this.#flushing = this.#draining ? run : null;
    return run;
  }

  /**
   * Rejects every queued item with `error`, stops their TTLs and empties the queue. An item whose send
   * is in progress is not affected; a running flush stops after it, as nothing is left.
   * @param error - the reason each `enqueue` promise rejects with.
   */
  rejectAll(error: unknown): void {
    const entries = this.#entries;
    this.#entries = [];
    for (const entry of entries) {
      entry.expiry?.unsubscribe();
      entry.expiry = null;
      entry.reject(error);
    }
  }

  /**
   * Empties the queue, rejecting every queued item with `ConnectionClosedError('offline queue cleared')`
   * (so no promise is left pending for ever). Same as `rejectAll` with that error.
   */
  clear(): void {
    this.rejectAll(new ConnectionClosedError('offline queue cleared'));
  }

  async #drain(send: (item: T) => Promise<void>): Promise<void> {
    this.#draining = true;
    try {
      for (let entry = this.#take(); entry !== undefined; entry = this.#take()) {
        try {
          await send(entry.item);
        } catch (error) {
          entry.reject(error);
          throw error;
        }
        entry.resolve();
      }
    } finally {
      this.#draining = false;
      this.#flushing = null;
    }
  }

  // Takes the head off the queue and stops its TTL: an item in flight does not expire.
  #take(): Entry<T> | undefined {
    const entry = this.#entries.shift();
    entry?.expiry?.unsubscribe();
    if (entry) entry.expiry = null;
    return entry;
  }

  #remove(entry: Entry<T>): boolean {
    const index = this.#entries.indexOf(entry);
    if (index === -1) return false;
    this.#entries.splice(index, 1);
    return true;
  }
}
