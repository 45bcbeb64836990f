/**
 * Deadlines for what a node waits on from its engine (a publish, the close): an engine that stops
 * answering without closing the link (a frozen process, a partition) must fail calls in bounded time,
 * never hold them for ever. All deadlines have the same length, so they expire in the order made, and
 * one timer on the scheduler serves them all: a burst of broadcasts costs no timer each.
 * @module
 */
import type { SchedulerLike, Subscription } from 'rxjs';

interface Watched {
  readonly at: number;
  done: boolean;
  readonly fail: () => void;
}

/** A queue of same-length deadlines served by one scheduled check. */
export class EngineDeadlines {
  private queue: Watched[] = [];
  private head = 0;
  private timer: Subscription | null = null;

  /**
   * @param scheduler the clock deadlines run on
   * @param ms how long each piece of work may take
   */
  constructor(
    private readonly scheduler: SchedulerLike,
    readonly ms: number,
  ) {}

  /** `work`'s outcome, or `late()` once `ms` have passed without one. */
  watch<T>(work: Promise<T>, late: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Watched = { at: this.scheduler.now() + this.ms, done: false, fail: () => reject(late()) };
      this.queue.push(entry);
      this.arm();
      work.then(
        (value) => {
          this.settled(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.settled(entry);
          reject(err);
        },
      );
    });
  }

  /** Stops the check, leaving no timer; what is still watched is left to its work. */
  clear(): void {
    this.timer?.unsubscribe();
    this.timer = null;
    this.queue = [];
    this.head = 0;
  }

  /**
   * Work finished in time. The timer is kept (it stops by itself when it finds nothing left), so work
   * that comes one piece at a time does not make and cancel a timer each; the queue is trimmed here.
   */
  private settled(entry: Watched): void {
    entry.done = true;
    this.trim();
  }

  /** Skips the finished entries at the head, and empties or compacts the queue behind them. */
  private trim(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private arm(): void {
    if (this.timer !== null) return;
    this.trim();
    if (this.queue.length === 0) return;
    const delay = Math.max(0, this.queue[this.head]!.at - this.scheduler.now());
    this.timer = this.scheduler.schedule(() => this.expire(), delay);
  }

  private expire(): void {
    this.timer = null;
    const now = this.scheduler.now();
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      if (!entry.done && entry.at > now) break;
      this.head++;
      if (!entry.done) {
        entry.done = true;
        entry.fail();
      }
    }
    this.arm();
  }
}
