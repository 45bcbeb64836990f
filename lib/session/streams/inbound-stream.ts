/**
 * The receiving half of a stream: values from the wire go to one subscriber, and credit goes back to
 * the peer as the subscriber consumes (or as `request(n)` asks, in demand mode). Optional timeouts for
 * the first value and between values run on the injected scheduler.
 * @module
 */
import type { SchedulerLike, Subscriber, Subscription } from 'rxjs';
import { StreamCreditError, StreamTimeoutError } from '../../errors.js';
import type { ReceiveCredit } from './receive-credit.js';

/** What an inbound stream asks of the stream table that owns it. */
export interface InboundOwner {
  readonly scheduler: SchedulerLike;
  /** Sends a `stream-credit` grant for this stream. */
  grantCredit(stream: InboundStream, n: number): void;
  /**
   * The receiving half failed locally (a timeout, the peer's credit overrun): the table cancels the
   * stream on the wire with `error` and ends the other half.
   */
  inboundFailed(stream: InboundStream, error: Error): void;
}

/** What ERR_STREAM_CREDIT says when the peer sent a value it held no credit for. */
export const CREDIT_OVERRUN = 'the peer sent a value beyond the credit it was granted';

/** Timeouts for the values of one stream, in ms; 0 or absent turns one off. */
export interface InboundTiming {
  firstValueTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** The receiving half of one stream. */
export class InboundStream {
  private subscriber: Subscriber<unknown> | null = null;
  private finished = false;
  private timer: Subscription | null = null;
  /** When the last value or grant happened, on the scheduler's clock. */
  private lastActivity = 0;
  private seenValue = false;

  /**
   * @param id the stream id
   * @param credit the credit arithmetic (prefetch or demand)
   * @param owner the table that owns the stream
   * @param timing first-value and idle timeouts
   */
  constructor(
    readonly id: number,
    private readonly credit: ReceiveCredit,
    private readonly owner: InboundOwner,
    private readonly timing: InboundTiming = {},
  ) {}

  /** True once the stream has delivered its end (or was torn down). */
  get ended(): boolean {
    return this.finished;
  }

  /** True while a subscriber receives the values. */
  get attached(): boolean {
    return this.subscriber !== null;
  }

  /** Hands the values to `subscriber` and starts the timeouts. */
  attach(subscriber: Subscriber<unknown>): void {
    this.subscriber = subscriber;
    this.lastActivity = this.owner.scheduler.now();
    const first = this.timing.firstValueTimeoutMs;
    if (first) this.arm(first);
    else if (this.timing.idleTimeoutMs) this.arm(this.timing.idleTimeoutMs);
  }

  /** Grants `n` more to the peer (demand mode, or a channel's first grant). */
  request(n: number): void {
    if (this.finished) return;
    this.owner.grantCredit(this, this.credit.grant(n));
    this.lastActivity = this.owner.scheduler.now();
  }

  /** A `stream-next` arrived. */
  next(value: unknown): void {
    if (this.finished) return;
    if (!this.credit.receive()) {
      this.owner.inboundFailed(this, new StreamCreditError(CREDIT_OVERRUN));
      return;
    }
    this.seenValue = true;
    // Only a timeout reads the clock back: a stream without one does not read it per value.
    if (this.timer !== null) this.lastActivity = this.owner.scheduler.now();
    this.subscriber?.next(value);
    if (this.finished) return;
    const grant = this.credit.consumed();
    if (grant > 0) this.owner.grantCredit(this, grant);
  }

  /** The producer completed. */
  complete(): void {
    if (this.finished) return;
    const subscriber = this.end();
    subscriber?.complete();
  }

  /** The stream failed (the peer's error, a closed connection, a local failure). */
  error(error: Error): void {
    if (this.finished) return;
    const subscriber = this.end();
    subscriber?.error(error);
  }

  /** Ends quietly: the subscriber left, so nobody is told. */
  detach(): void {
    this.end();
  }

  private end(): Subscriber<unknown> | null {
    this.finished = true;
    this.timer?.unsubscribe();
    this.timer = null;
    const subscriber = this.subscriber;
    this.subscriber = null;
    return subscriber;
  }

  /**
   * One timer per stream, re-armed lazily: each value only records the time, and the timer, when it
   * fires early, waits out the rest. Time in which the peer holds no credit does not count.
   */
  private arm(delayMs: number): void {
    this.timer = this.owner.scheduler.schedule(() => this.onTimer(), delayMs);
  }

  private onTimer(): void {
    this.timer = null;
    if (this.finished) return;
    const waitingForFirst = !this.seenValue && !!this.timing.firstValueTimeoutMs;
    const limit = waitingForFirst ? this.timing.firstValueTimeoutMs! : this.timing.idleTimeoutMs;
    if (!limit) return;
    const now = this.owner.scheduler.now();
    if (this.credit.held === 0) {
      this.lastActivity = now;
      this.arm(limit);
      return;
    }
    const elapsed = now - this.lastActivity;
    if (waitingForFirst || elapsed >= limit) {
      this.owner.inboundFailed(this, new StreamTimeoutError(waitingForFirst ? 'first' : 'idle', limit));
      return;
    }
    this.arm(limit - elapsed);
  }
}
