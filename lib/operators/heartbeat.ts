import { asyncScheduler, interval, Observable, Subscription, timer, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { HeartbeatTimeoutError } from '../errors.js';

/** Options for {@link heartbeat}. Callers pass `DEFAULTS.heartbeatIntervalMs` / `DEFAULTS.heartbeatTimeoutMs`. */
export interface HeartbeatConfig {
  /** Time between pings, in ms. Must be finite and greater than 0. */
  intervalMs: number;
  /** Time the peer has to show any activity after an unanswered ping, in ms. Must be finite and greater than 0. */
  timeoutMs: number;
  /** Scheduler for every timer. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
}

/**
 * Turns a stream of peer activity into a stream of pings to send, and fails when the peer goes silent.
 *
 * ```
 * activity: ------------a------------------   heartbeat({ intervalMs: 10, timeoutMs: 5 })
 * result:   ----------p---------p----#         (p every 10 ms; # 5 ms after the first unanswered p)
 * ```
 *
 * The source is every packet received from the peer; any value counts as liveness, whatever it is.
 * The result emits `'ping'` every `intervalMs` from subscription (the owner sends a ping packet for each),
 * on a fixed cadence that activity does not shift. After a ping, if the source emits nothing within
 * `timeoutMs`, the result errors with {@link HeartbeatTimeoutError}. The deadline is measured from the
 * *first* ping not followed by activity: later pings do not push it back, so a `timeoutMs` longer than
 * `intervalMs` still fires. Activity before a ping does not answer it.
 *
 * Both peers run it (symmetric ping/pong): each answers the other's pings, and any packet resets the
 * deadline. Source completion completes the result; a source error passes through; unsubscribing,
 * completion, error and timeout all clear both timers. Each subscription has its own timers.
 *
 * @param config - interval, timeout and scheduler.
 * @returns an operator from activity to `'ping'` requests.
 * @throws RangeError at call time when `intervalMs` or `timeoutMs` is not a finite number above 0.
 * Emits `HeartbeatTimeoutError` (code `ERR_HEARTBEAT_TIMEOUT`, `timeoutMs` set) as its error.
 * @example
 * connection.packets$
 *   .pipe(heartbeat({ intervalMs: DEFAULTS.heartbeatIntervalMs, timeoutMs: DEFAULTS.heartbeatTimeoutMs }))
 *   .subscribe({ next: () => void connection.sendPacket('ping', null), error: (err) => void connection.close(err.message) });
 */
export function heartbeat(config: HeartbeatConfig): OperatorFunction<unknown, 'ping'> {
  const { intervalMs, timeoutMs, scheduler = asyncScheduler } = config;
  assertPositiveFinite('intervalMs', intervalMs);
  assertPositiveFinite('timeoutMs', timeoutMs);
  return (source) =>
    new Observable<'ping'>((subscriber) => {
      let deadline: Subscription | null = null;
      const clearDeadline = (): void => {
        deadline?.unsubscribe();
        deadline = null;
      };
      const subscription = new Subscription(clearDeadline);
      subscription.add(
        source.subscribe({
          next: clearDeadline,
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        }),
      );
      // A source that ended synchronously must not start timers.
      if (subscriber.closed) return subscription;
      subscription.add(
        interval(intervalMs, scheduler).subscribe(() => {
          // Armed before emitting, so a synchronous answer to this ping counts and a synchronous
          // unsubscribe during next() tears the deadline down.
          deadline ??= timer(timeoutMs, scheduler).subscribe(() => subscriber.error(new HeartbeatTimeoutError(timeoutMs)));
          subscriber.next('ping');
        }),
      );
      return subscription;
    });
}

// Rejects values that would make timers misbehave (Node turns Infinity or NaN delays into 1 ms).
function assertPositiveFinite(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`heartbeat ${name} must be a finite number above 0, got ${value}`);
  }
}
