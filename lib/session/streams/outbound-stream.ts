/**
 * The sending half of a stream: values from a producer (an Observable, an AsyncIterable, a Promise or a
 * plain value) go to the wire only as far as the peer's credit allows, in turn with the connection's
 * other streams. Values an Observable produces beyond the credit wait in a bounded buffer.
 * @module
 */
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { ConnectionClosedError, StreamOverflowError } from '../../errors.js';
import { STREAM_ACTIONS, streamPacket } from '../../protocol/stream-packets.js';
import type { FairSender, TurnTaker } from './fair-sender.js';
import type { PeerError, StreamWire } from './stream-wire.js';
import { describeThrown } from '../../describe-thrown.js';

/** What an outbound stream reports to the stream table that owns it. */
export interface OutboundOwner {
  readonly wire: StreamWire;
  readonly sender: FairSender;
  readonly maxBufferedValues: number;
  /**
   * The stream has ended: `complete` (its completion was sent), `error` (the producer failed; the error
   * was sent), `failed` (the stream machinery failed it: overflow, a value that cannot be sent, bad
   * credit; the error was sent), or `cancelled` (the peer or the connection ended it; nothing was sent).
   */
  outboundEnded(stream: OutboundStream, how: OutboundEnd, error?: Error): void;
}

/** How an outbound stream ended; see {@link OutboundOwner.outboundEnded}. */
export type OutboundEnd = 'complete' | 'error' | 'failed' | 'cancelled';

/** How a failure of the producer is shown to the peer. */
export type DescribeFailure = (cause: unknown) => PeerError;

/** True for anything `for await` can read. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** True for a thenable. */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The sending half of one stream. */
export class OutboundStream implements TurnTaker {
  inRing = false;
  private credit: number;
  private queue: unknown[] = [];
  private head = 0;
  private done = false;
  /** Completion that waits behind queued values. */
  private completing = false;
  private started = false;
  private subscription: Subscription | null = null;
  private iterator: AsyncIterator<unknown> | null = null;
  private pulling = false;
  private describe: DescribeFailure = defaultDescribe;
  private muted = false;

  /**
   * @param id the stream id
   * @param credit the credit the peer granted at the start
   * @param owner the table that owns the stream
   */
  constructor(
    readonly id: number,
    credit: number,
    private readonly owner: OutboundOwner,
  ) {
    this.credit = credit;
  }

  /** Credit the peer has granted and values have not used yet. */
  get heldCredit(): number {
    return this.credit;
  }

  /** Values produced and not yet written. */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  /** True once the stream has ended in any way. */
  get ended(): boolean {
    return this.done;
  }

  get sendable(): boolean {
    return !this.done && this.credit > 0 && this.head < this.queue.length;
  }

  /**
   * Starts producing from `source`: each value of an Observable, each item of an AsyncIterable (pulled
   * only as credit allows, one item ahead at most), or the single value of a Promise or plain value (`undefined` sends none).
   */
  start(source: unknown, describe: DescribeFailure = defaultDescribe): void {
    if (this.started || this.done) return;
    this.started = true;
    this.describe = describe;
    if (isObservable(source)) {
      this.subscribeTo(source);
    } else if (isAsyncIterable(source)) {
      this.iterator = source[Symbol.asyncIterator]();
      this.pull();
    } else if (isPromiseLike(source)) {
      source.then(
        (value) => this.single(value),
        (err: unknown) => this.fail(err),
      );
    } else {
      this.single(source);
    }
  }

  /**
   * Sends nothing more, not even what the producer does while the stream is being torn down (the peer
   * ended it); {@link cancel} then stops the producer.
   */
  mute(): void {
    this.muted = true;
  }

  /** The peer granted `n` more. */
  grant(n: number): void {
    if (this.done) return;
    this.credit += n;
    if (this.sendable) this.owner.sender.enqueue(this);
    else if (this.iterator) this.pull();
  }

  /** The peer (or the connection) ended the stream: stop the producer, send nothing more. */
  cancel(error?: Error): void {
    if (this.done) return;
    this.stop();
    this.owner.outboundEnded(this, 'cancelled', error);
  }

  /** Ends the stream with `error` on both sides (it is sent to the peer), for a failure of the stream itself. */
  refuse(error: Error & PeerError): void {
    this.failWith(error, error, 'failed');
  }

  /** True once {@link start} has been called. */
  get isStarted(): boolean {
    return this.started;
  }

  /** @internal The fair sender's turn: write the next value. */
  sendOne(): void {
    const value = this.queue[this.head];
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    this.write(value);
  }

  private subscribeTo(source: Observable<unknown>): void {
    let subscription: Subscription;
    try {
      subscription = source.subscribe({
        next: (value) => this.push(value),
        error: (err: unknown) => this.fail(err),
        complete: () => this.complete(),
      });
    } catch (err) {
      // A teardown that throws as a synchronous source ends inside subscribe().
      if (this.done) this.reportFailure(err);
      else this.fail(err);
      return;
    }
    // A synchronous source may have ended (or been cancelled) inside subscribe().
    if (this.done) this.unsubscribeFrom(subscription);
    else this.subscription = subscription;
  }

  /** Unsubscribes the producer; a teardown that throws is the handler's failure, reported, and ends nothing more. */
  private unsubscribeFrom(subscription: Subscription): void {
    try {
      subscription.unsubscribe();
    } catch (err) {
      this.reportFailure(err);
    }
  }

  /** Reports a failure of the producer's after the stream has ended (through `describe`, which reports it). */
  private reportFailure(cause: unknown): void {
    try {
      this.describe(cause);
    } catch {
      // describe() is the router's: it reports, and has nobody to tell when that fails.
    }
  }

  /** A value from the producer: straight out when nothing waits, else in line. */
  private push(value: unknown): void {
    if (this.done || this.muted) return;
    if (this.credit > 0 && this.head === this.queue.length && this.owner.sender.idle) {
      this.write(value);
      return;
    }
    this.queue.push(value);
    // A pulled producer never runs ahead (see pull()); a pushing one is cut off past the bound.
    if (this.iterator === null && this.buffered > this.owner.maxBufferedValues) {
      this.overflow();
      return;
    }
    if (this.credit > 0) this.owner.sender.enqueue(this);
  }

  private write(value: unknown): void {
    this.credit--;
    const refused = this.owner.wire.trySendValue(this.id, value);
    if (refused instanceof ConnectionClosedError) {
      // The connection is closing: the stream ends with it, and that is no failure of the stream's.
      this.cancel(refused);
      return;
    }
    if (refused) {
      // This value cannot go (too large, not JSON): the stream fails, as a request's reply would.
      this.failWith(refused, { code: (refused as { code?: string }).code ?? 'ERR_PACKET_JSON', message: refused.message }, 'failed');
      return;
    }
    this.owner.sender.wrote();
    if (this.completing && this.head === this.queue.length) this.sendCompletion();
    else if (this.iterator) this.pull();
  }

  private single(value: unknown): void {
    if (value !== undefined) this.push(value);
    this.complete();
  }

  private complete(): void {
    if (this.done || this.muted) return;
    this.completing = true;
    if (this.head === this.queue.length) this.sendCompletion();
  }

  private sendCompletion(): void {
    this.stop();
    this.owner.wire.trySend(streamPacket(STREAM_ACTIONS.complete, this.id, null, this.owner.wire.token));
    this.owner.outboundEnded(this, 'complete');
  }

  /** The producer failed: tell the peer at once (values still waiting are dropped). */
  private fail(cause: unknown): void {
    if (this.done || this.muted) return;
    let peer: PeerError;
    try {
      peer = this.describe(cause);
    } catch {
      peer = defaultDescribe(cause);
    }
    this.failWith(cause instanceof Error ? cause : new Error(describeThrown(cause)), peer, 'error');
  }

  private failWith(error: Error, peer: PeerError, how: 'error' | 'failed'): void {
    if (this.done) return;
    this.stop();
    this.owner.wire.trySend(streamPacket(STREAM_ACTIONS.error, this.id, { code: peer.code, message: peer.message }, this.owner.wire.token));
    this.owner.outboundEnded(this, how, error);
  }

  private overflow(): void {
    this.refuse(new StreamOverflowError(this.owner.maxBufferedValues));
  }

  /**
   * Pulls the next item once the one before it has been written: one item waits at most, whether for
   * credit or for a full socket, so an iterable never runs ahead of the peer. The item pulled beyond the
   * credit shows the iterable's end (and stream-complete, which needs no credit, goes) even when the
   * peer granted exactly the values there are.
   */
  private pull(): void {
    const iterator = this.iterator;
    if (iterator === null || this.pulling || this.done || this.completing) return;
    if (this.buffered > 0) return;
    this.pulling = true;
    let step: Promise<IteratorResult<unknown>>;
    try {
      step = iterator.next();
    } catch (err) {
      this.pulling = false;
      this.fail(err);
      return;
    }
    Promise.resolve(step).then(this.onStep, this.onStepFailed);
  }

  /** The iterator's next item arrived (made once per stream: a pull is made for every value). */
  private readonly onStep = (result: IteratorResult<unknown>): void => {
    this.pulling = false;
    if (this.done) return;
    if (result.done) this.complete();
    else this.push(result.value);
    this.pull();
  };

  private readonly onStepFailed = (err: unknown): void => {
    this.pulling = false;
    this.fail(err);
  };

  /** Ends the producer and drops whatever still waits. */
  private stop(): void {
    this.done = true;
    this.queue = [];
    this.head = 0;
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription) this.unsubscribeFrom(subscription);
    const iterator = this.iterator;
    this.iterator = null;
    if (iterator?.return) {
      // A generator stopped early runs its finally blocks; their failure has nobody to go to.
      try {
        Promise.resolve(iterator.return()).catch(() => undefined);
      } catch {
        // Same: nothing to report it to.
      }
    }
  }
}

function defaultDescribe(cause: unknown): PeerError {
  const code = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : 'ERR_HANDLER';
  return { code, message: describeThrown(cause) };
}
