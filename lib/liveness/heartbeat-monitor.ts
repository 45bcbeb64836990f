/**
 * The heartbeat as one small state machine on one scheduled action: cheap enough to run per connection.
 * The `heartbeat` operator and every Connection use it.
 * @module
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { HeartbeatTimeoutError } from '../errors.js';
import { checkDelay } from '../timing.js';

/** Interval and timeout of a heartbeat. */
export interface HeartbeatTiming {
  /** Time between pings, in ms. Finite and above 0. */
  intervalMs: number;
  /** Time the peer has to show any activity after an unanswered ping, in ms. Finite and above 0. */
  timeoutMs: number;
}

/** Who the monitor reports to. */
export interface HeartbeatListener {
  /** Time to send a ping. */
  onHeartbeatPing(): void;
  /** The peer stayed silent past the deadline; the monitor has stopped. */
  onHeartbeatTimeout(error: HeartbeatTimeoutError): void;
}

/**
 * Pings every `intervalMs` from `start()`, on a fixed cadence. The first ping not followed by activity
 * arms a deadline `timeoutMs` later; any activity clears it; reaching it stops the monitor and reports
 * a `HeartbeatTimeoutError`. Activity before a ping does not answer that ping.
 */
export class HeartbeatMonitor {
  private nextPingAt = 0;
  private deadlineAt: number | null = null;
  private action: Subscription | null = null;
  private stopped = false;

  /**
   * @throws RangeError when `intervalMs` or `timeoutMs` is not a number of ms above 0 and at most
   * 2^31 − 1 (Node would turn such delays into 1 ms)
   */
  constructor(
    private readonly timing: HeartbeatTiming,
    private readonly scheduler: SchedulerLike,
    private readonly listener: HeartbeatListener,
  ) {
    checkDelay('heartbeat intervalMs', timing.intervalMs);
    checkDelay('heartbeat timeoutMs', timing.timeoutMs);
  }

  /** Starts the cadence; the first ping is `intervalMs` from now. */
  start(): void {
    if (this.stopped || this.action) return;
    this.nextPingAt = this.scheduler.now() + this.timing.intervalMs;
    this.action = this.scheduler.schedule(wake, this.timing.intervalMs, this);
  }

  /** The peer showed a sign of life: clears the deadline, if any. */
  activity(): void {
    this.deadlineAt = null;
  }

  /** Stops for good and cancels the timer. */
  stop(): void {
    this.stopped = true;
    this.action?.unsubscribe();
    this.action = null;
  }

  /** Handles one wake-up; returns the delay to the next, or null when stopped. */
  tick(): number | null {
    if (this.stopped) return null;
    const now = this.scheduler.now();
    if (this.deadlineAt !== null && now >= this.deadlineAt) {
      this.stop();
      this.listener.onHeartbeatTimeout(new HeartbeatTimeoutError(this.timing.timeoutMs));
      return null;
    }
    if (now >= this.nextPingAt) {
      // Armed before the ping goes out, so an answer given synchronously still counts.
      this.deadlineAt ??= this.nextPingAt + this.timing.timeoutMs;
      this.nextPingAt += this.timing.intervalMs;
      this.listener.onHeartbeatPing();
      if (this.stopped) return null;
    }
    const next = this.deadlineAt === null ? this.nextPingAt : Math.min(this.nextPingAt, this.deadlineAt);
    return Math.max(0, next - now);
  }
}

/** The scheduled work: one function for every monitor, so no closure is made per connection. */
function wake(this: SchedulerAction<HeartbeatMonitor>, monitor?: HeartbeatMonitor): void {
  const delay = monitor!.tick();
  if (delay !== null) this.schedule(monitor, delay);
}
