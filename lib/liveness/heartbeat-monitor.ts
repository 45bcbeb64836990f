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
  /**
   * @internal A grouped monitor's neighbours in its group's two lists (see TimeList): previous and next
   * by next ping, then previous and next by deadline.
   */
  readonly links: Array<HeartbeatMonitor | null>;

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
    this.links = group === null ? NO_LINKS : [null, null, null, null];
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
  private readonly pings = new TimeList(PING_LINKS, pingTime);
  private readonly deadlines = new TimeList(DEADLINE_LINKS, deadlineTime);
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
    this.pings.insert(monitor);
    this.wakeBy(monitor.pingAt);
  }

  /** @internal A monitor stopped: out of both lists. */
  remove(monitor: HeartbeatMonitor): void {
    this.pings.remove(monitor);
    this.deadlines.remove(monitor);
    if (this.pings.head === null && this.deadlines.head === null) this.sleep();
  }

  /** @internal A monitor armed its deadline. */
  linkDeadline(monitor: HeartbeatMonitor): void {
    // Deadlines are armed in time order, so the insertion stops at the tail but for a late wake-up.
    this.deadlines.insert(monitor);
    this.wakeBy(monitor.deadline!);
  }

  /** @internal A monitor's deadline was cleared (activity) or it stopped. */
  unlinkDeadline(monitor: HeartbeatMonitor): void {
    this.deadlines.remove(monitor);
  }

  /** @internal A monitor's next ping moved on by one interval. */
  repositionPing(monitor: HeartbeatMonitor): void {
    this.pings.remove(monitor);
    this.pings.insert(monitor);
  }

  /** @internal The action fired: everything due now, then sleep until the next. */
  wake(): void {
    this.action = null;
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.ticking = true;
    const now = this.scheduler.now();
    try {
      // Deadlines before pings, as one monitor does: a peer silent past its deadline gets no new ping.
      let due = this.deadlines.head;
      while (due !== null && due.deadline! <= now) {
        due.timedOut(now);
        due = this.deadlines.head;
      }
      // Each ping moves its monitor on by one interval; one still due after a late wake-up comes round
      // again, its deadline checked first, as a lone monitor's next (immediate) wake-up would.
      let next = this.pings.head;
      while (next !== null && next.pingAt <= now) {
        if (!next.timedOut(now)) next.pingIfDue(now);
        next = this.pings.head;
      }
    } finally {
      this.ticking = false;
      const earliest = Math.min(this.pings.head?.pingAt ?? Number.POSITIVE_INFINITY, this.deadlines.head?.deadline ?? Number.POSITIVE_INFINITY);
      if (earliest !== Number.POSITIVE_INFINITY) this.wakeBy(earliest);
    }
  }

  /** Members, for the console and specs. */
  get size(): number {
    return this.pings.size;
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

/** Where a list keeps a monitor's neighbours in `links`: the previous one's slot, the next one's after it. */
const PING_LINKS = 0;
const DEADLINE_LINKS = 2;
const NO_LINKS: Array<HeartbeatMonitor | null> = [];

function pingTime(monitor: HeartbeatMonitor): number {
  return monitor.pingAt;
}

function deadlineTime(monitor: HeartbeatMonitor): number {
  return monitor.deadline!;
}

/**
 * Monitors in time order, doubly linked through two slots of their `links` (no node object per monitor),
 * so that removing one, as activity or a stop does, takes constant time.
 */
class TimeList {
  head: HeartbeatMonitor | null = null;
  private tail: HeartbeatMonitor | null = null;

  constructor(
    private readonly slot: number,
    private readonly timeOf: (monitor: HeartbeatMonitor) => number,
  ) {}

  /** Puts a monitor in its place, searching from the tail, where new times almost always go. */
  insert(monitor: HeartbeatMonitor): void {
    const prev = this.slot;
    const next = prev + 1;
    const at = this.timeOf(monitor);
    let before = this.tail;
    while (before !== null && this.timeOf(before) > at) before = before.links[prev] ?? null;
    const after = before === null ? this.head : (before.links[next] ?? null);
    monitor.links[prev] = before;
    monitor.links[next] = after;
    if (after !== null) after.links[prev] = monitor;
    else this.tail = monitor;
    if (before !== null) before.links[next] = monitor;
    else this.head = monitor;
  }

  /** Takes a monitor out; nothing when it is not in the list. */
  remove(monitor: HeartbeatMonitor): void {
    const prev = this.slot;
    const next = prev + 1;
    const before = monitor.links[prev] ?? null;
    const after = monitor.links[next] ?? null;
    if (before === null && this.head !== monitor) return;
    if (before !== null) before.links[next] = after;
    else this.head = after;
    if (after !== null) after.links[prev] = before;
    else this.tail = before;
    monitor.links[prev] = null;
    monitor.links[next] = null;
  }

  get size(): number {
    let count = 0;
    for (let at = this.head; at !== null; at = at.links[this.slot + 1] ?? null) count++;
    return count;
  }
}

function wakeGroup(group?: HeartbeatGroup): void {
  group!.wake();
}
