// Virtual time for integration specs: real sockets move the bytes, but every timer the library schedules
// (heartbeats, handshake and request timeouts, reconnection backoff) waits for the spec to move the clock.
// A loaded machine can then slow a spec down but never make a timer fire early or late.
import { VirtualTimeScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';

/** A SchedulerLike on a virtual clock that only moves when told to, counting the work it runs. */
export class VirtualClock implements SchedulerLike {
  private readonly inner = new VirtualTimeScheduler();
  private target = 0;
  private executed = 0;

  /** The virtual time, in ms since the clock was made. */
  now(): number {
    return this.inner.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
    const count = (): void => {
      this.executed++;
    };
    return this.inner.schedule<T>(
      function (this: SchedulerAction<T>, s?: T) {
        count();
        work.call(this, s as T);
      },
      delay,
      state,
    );
  }

  /** How many scheduled pieces of work have run so far. */
  get ran(): number {
    return this.executed;
  }

  /** How many pieces of work are scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.inner.actions.length;
  }

  /** Moves the clock forward by `ms`, running (in order) everything due by then. */
  advance(ms: number): void {
    this.target = Math.max(this.target, this.inner.frame) + ms;
    this.inner.maxFrames = this.target;
    this.inner.flush();
    this.inner.frame = this.target;
  }
}
