/**
 * Drives a VirtualTimeScheduler (or rxjs's TestScheduler) the way a network test needs it: one timer at
 * a time, letting the in-memory sockets, Promises and `process.nextTick` work settle between timers, so
 * that a timeout fires only after every byte that could have arrived before it has arrived.
 * @module
 */
import type { VirtualTimeScheduler } from 'rxjs';

/** Settling stops after this many quiet turns of the event loop. */
const QUIET_TURNS = 2;
/** A guard against a test that schedules work for ever. */
const MAX_TIMERS_PER_ADVANCE = 1_000_000;
const MAX_TURNS_PER_SETTLE = 100_000;

/** Yields to the event loop once: every pending nextTick and Promise callback runs first. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves virtual time for a network over in-memory sockets. `progress` is a number that grows while the
 * network does something (bytes moved); settling waits until it stops growing.
 */
export class VirtualClock {
  /**
   * @param scheduler the scheduler every Server and Client of the test was given
   * @param progress reads a counter that grows while work is under way
   */
  constructor(
    readonly scheduler: VirtualTimeScheduler,
    private readonly progress: () => number,
  ) {}

  /** The current virtual time, in ms. */
  get now(): number {
    return this.scheduler.now();
  }

  /** Lets all work that needs no timer finish: bytes in flight, Promise callbacks, ticks. */
  async settle(): Promise<void> {
    let quiet = 0;
    let seen = this.progress();
    for (let turns = 0; quiet < QUIET_TURNS; turns++) {
      if (turns > MAX_TURNS_PER_SETTLE) throw new Error(`the network did not settle within ${MAX_TURNS_PER_SETTLE} turns`);
      await turn();
      const now = this.progress();
      quiet = now === seen ? quiet + 1 : 0;
      seen = now;
    }
  }

  /**
   * Moves virtual time forward by `ms`, running each timer that falls due in order and settling the
   * network after each one. Resolves at `now + ms`.
   * @throws what a timer threw
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`advance() takes a finite number of ms >= 0, got ${ms}`);
    const scheduler = this.scheduler;
    const target = scheduler.frame + ms;
    await this.settle();
    for (let timers = 0; ; timers++) {
      if (timers > MAX_TIMERS_PER_ADVANCE) throw new Error(`more than ${MAX_TIMERS_PER_ADVANCE} timers fell due in ${ms} ms`);
      const next = scheduler.actions[0];
      if (next === undefined || next.delay > target) break;
      scheduler.actions.shift();
      scheduler.frame = next.delay;
      const error: unknown = next.execute(next.state, next.delay);
      if (error) throw error;
      await this.settle();
    }
    scheduler.frame = target;
    await this.settle();
  }
}
