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
 *
 * On its own a monitor keeps one scheduled action. Monitors made with a {@link HeartbeatGroup} (a
 * server's connections) share the group's one action instead, with the same cadence and deadlines.
 */
export class HeartbeatMonitor {
  private nextPingAt = 0;
  private deadlineAt: number | null = null;
  private action: Subscription | null = null;
  private stopped = false;
  private started = false;
  /** @internal The group's two lists: by next ping, and by deadline (while one is armed). */
  pingPrev: HeartbeatMonitor | null = null;
  pingNext: HeartbeatMonitor | null = null;
  deadlinePrev: HeartbeatMonitor | null = null;
  deadlineNext: HeartbeatMonitor | null = null;

  /**
   * @param group when given, its timing and scheduler are used and its one action wakes this monitor
   * @throws RangeError when `intervalMs` or `timeoutMs` is not a number of ms above 0 and at most
   * 2^31 − 1 (Node would turn such delays into 1 ms)
   */
  constructor(
    private readonly timing: HeartbeatTiming,
    private readonly scheduler: SchedulerLike,
    private readonly listener: HeartbeatListener,
    private readonly group: HeartbeatGroup | null = null,
  ) {
    if (group === null) {
      checkDelay('heartbeat intervalMs', timing.intervalMs);
      checkDelay('heartbeat timeoutMs', timing.timeoutMs);
    }
  }

  /** Starts the cadence; the first ping is `intervalMs` from now. */
  start(): void {
    if (this.stopped || this.started) return;
    this.started = true;
    this.nextPingAt = this.scheduler.now() + this.timing.intervalMs;
    if (this.group !== null) this.group.add(this);
    else this.action = this.scheduler.schedule(wake, this.timing.intervalMs, this);
  }

  /** The peer showed a sign of life: clears the deadline, if any. */
  activity(): void {
    if (this.deadlineAt === null) return;
    this.deadlineAt = null;
    this.group?.unlinkDeadline(this);
  }

  /** Stops for good and cancels the timer. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.action?.unsubscribe();
    this.action = null;
    if (this.group !== null && this.started) this.group.remove(this);
  }

  /** Handles one wake-up; returns the delay to the next, or null when stopped. */
  tick(): number | null {
    if (this.stopped) return null;
    const now = this.scheduler.now();
    if (this.timedOut(now) || !this.pingIfDue(now)) return null;
    const next = this.deadlineAt === null ? this.nextPingAt : Math.min(this.nextPingAt, this.deadlineAt);
    return Math.max(0, next - now);
  }

  /** @internal When the next ping is due, on the scheduler's clock. */
  get pingAt(): number {
    return this.nextPingAt;
  }

  /** @internal When the armed deadline falls; null when none is armed. */
  get deadline(): number | null {
    return this.deadlineAt;
  }

  /** @internal Reports the timeout (and stops) when the deadline has come; true when it has. */
  timedOut(now: number): boolean {
    if (this.deadlineAt === null || now < this.deadlineAt) return false;
    this.stop();
    this.listener.onHeartbeatTimeout(new HeartbeatTimeoutError(this.timing.timeoutMs));
    return true;
  }

  /** @internal Sends the ping when it is due, arming the deadline first; false when the listener stopped it. */
  pingIfDue(now: number): boolean {
    if (now < this.nextPingAt) return true;
    // Armed before the ping goes out, so an answer given synchronously still counts.
    if (this.deadlineAt === null) {
      this.deadlineAt = this.nextPingAt + this.timing.timeoutMs;
      this.group?.linkDeadline(this);
    }
    this.nextPingAt += this.timing.intervalMs;
    this.group?.repositionPing(this);
    this.listener.onHeartbeatPing();
    return !this.stopped;
  }
}

/** The scheduled work: one function for every monitor, so no closure is made per connection. */
function wake(this: SchedulerAction<HeartbeatMonitor>, monitor?: HeartbeatMonitor): void {
  const delay = monitor!.tick();
  if (delay !== null) this.schedule(monitor, delay);
}

/**
 * The heartbeats of many connections with the same timing on one scheduled action: an idle server
 * connection then holds no timer of its own. Monitors wait in two lists kept in time order (next ping,
 * armed deadline), and each wake-up handles whatever is due and sleeps until the earliest next time.
 */
export class HeartbeatGroup {
  private pingHead: HeartbeatMonitor | null = null;
  private pingTail: HeartbeatMonitor | null = null;
  private deadlineHead: HeartbeatMonitor | null = null;
  private deadlineTail: HeartbeatMonitor | null = null;
  private action: Subscription | null = null;
  /** When the action is due; Infinity while none is scheduled. */
  private wakeAt = Number.POSITIVE_INFINITY;
  private ticking = false;

  /** @throws RangeError for the timings HeartbeatMonitor refuses */
  constructor(
    readonly timing: HeartbeatTiming,
    readonly scheduler: SchedulerLike,
  ) {
    checkDelay('heartbeat intervalMs', timing.intervalMs);
    checkDelay('heartbeat timeoutMs', timing.timeoutMs);
  }

  /** A new monitor of this group, not started. */
  monitor(listener: HeartbeatListener): HeartbeatMonitor {
    return new HeartbeatMonitor(this.timing, this.scheduler, listener, this);
  }

  /** @internal A monitor started. */
  add(monitor: HeartbeatMonitor): void {
    this.insertPing(monitor);
    this.wakeBy(monitor.pingAt);
  }

  /** @internal A monitor stopped: out of both lists. */
  remove(monitor: HeartbeatMonitor): void {
    this.unlinkPing(monitor);
    this.unlinkDeadline(monitor);
    if (this.pingHead === null && this.deadlineHead === null) this.sleep();
  }

  /** @internal A monitor armed its deadline. */
  linkDeadline(monitor: HeartbeatMonitor): void {
    const at = monitor.deadline!;
    // From the tail: deadlines are armed in time order, so this stops at once but for a late wake-up.
    let before = this.deadlineTail;
    while (before !== null && before.deadline! > at) before = before.deadlinePrev;
    monitor.deadlinePrev = before;
    monitor.deadlineNext = before === null ? this.deadlineHead : before.deadlineNext;
    if (monitor.deadlineNext !== null) monitor.deadlineNext.deadlinePrev = monitor;
    else this.deadlineTail = monitor;
    if (before !== null) before.deadlineNext = monitor;
    else this.deadlineHead = monitor;
    this.wakeBy(at);
  }

  /** @internal A monitor's deadline was cleared (activity) or it stopped. */
  unlinkDeadline(monitor: HeartbeatMonitor): void {
    if (monitor.deadlinePrev === null && this.deadlineHead !== monitor) return;
    if (monitor.deadlinePrev !== null) monitor.deadlinePrev.deadlineNext = monitor.deadlineNext;
    else this.deadlineHead = monitor.deadlineNext;
    if (monitor.deadlineNext !== null) monitor.deadlineNext.deadlinePrev = monitor.deadlinePrev;
    else this.deadlineTail = monitor.deadlinePrev;
    monitor.deadlinePrev = null;
    monitor.deadlineNext = null;
  }

  /** @internal A monitor's next ping moved on by one interval. */
  repositionPing(monitor: HeartbeatMonitor): void {
    this.unlinkPing(monitor);
    this.insertPing(monitor);
  }

  /** @internal The action fired: everything due now, then sleep until the next. */
  wake(): void {
    this.action = null;
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.ticking = true;
    const now = this.scheduler.now();
    try {
      // Deadlines before pings, as one monitor does: a peer silent past its deadline gets no new ping.
      let due = this.deadlineHead;
      while (due !== null && due.deadline! <= now) {
        due.timedOut(now);
        due = this.deadlineHead;
      }
      // Each ping moves its monitor on by one interval; one still due after a late wake-up comes round
      // again, its deadline checked first, as a lone monitor's next (immediate) wake-up would.
      let next = this.pingHead;
      while (next !== null && next.pingAt <= now) {
        if (!next.timedOut(now)) next.pingIfDue(now);
        next = this.pingHead;
      }
    } finally {
      this.ticking = false;
      const earliest = Math.min(this.pingHead?.pingAt ?? Number.POSITIVE_INFINITY, this.deadlineHead?.deadline ?? Number.POSITIVE_INFINITY);
      if (earliest !== Number.POSITIVE_INFINITY) this.wakeBy(earliest);
    }
  }

  /** Members, for the console and specs. */
  get size(): number {
    let count = 0;
    for (let at = this.pingHead; at !== null; at = at.pingNext) count++;
    return count;
  }

  private insertPing(monitor: HeartbeatMonitor): void {
    const at = monitor.pingAt;
    // From the tail: a monitor's next ping is almost always the latest of all.
    let before = this.pingTail;
    while (before !== null && before.pingAt > at) before = before.pingPrev;
    monitor.pingPrev = before;
    monitor.pingNext = before === null ? this.pingHead : before.pingNext;
    if (monitor.pingNext !== null) monitor.pingNext.pingPrev = monitor;
    else this.pingTail = monitor;
    if (before !== null) before.pingNext = monitor;
    else this.pingHead = monitor;
  }

  private unlinkPing(monitor: HeartbeatMonitor): void {
    if (monitor.pingPrev === null && this.pingHead !== monitor) return;
    if (monitor.pingPrev !== null) monitor.pingPrev.pingNext = monitor.pingNext;
    else this.pingHead = monitor.pingNext;
    if (monitor.pingNext !== null) monitor.pingNext.pingPrev = monitor.pingPrev;
    else this.pingTail = monitor.pingPrev;
    monitor.pingPrev = null;
    monitor.pingNext = null;
  }

  /** Makes sure the action fires by `at` (a wake-up in progress schedules itself when it ends). */
  private wakeBy(at: number): void {
    if (this.ticking || at >= this.wakeAt) return;
    this.action?.unsubscribe();
    this.wakeAt = at;
    this.action = this.scheduler.schedule(wakeGroup, Math.max(0, at - this.scheduler.now()), this);
  }

  private sleep(): void {
    this.action?.unsubscribe();
    this.action = null;
    this.wakeAt = Number.POSITIVE_INFINITY;
  }
}

function wakeGroup(group?: HeartbeatGroup): void {
  group!.wake();
}
