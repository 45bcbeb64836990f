import { asyncScheduler, Observable, Subscriber, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { HeartbeatMonitor } from '../liveness/heartbeat-monitor.js';

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
  const timing = { intervalMs, timeoutMs };
  // Validates now, at call time, rather than at subscription.
  new HeartbeatMonitor(timing, scheduler, { onHeartbeatPing: noop, onHeartbeatTimeout: noop });
  return (source) =>
    new Observable<'ping'>((subscriber) => {
      const monitor = new HeartbeatMonitor(timing, scheduler, {
        onHeartbeatPing: () => subscriber.next('ping'),
        onHeartbeatTimeout: (error) => subscriber.error(error),
      });
      // Linked to the downstream subscriber, so unsubscribing also stops a synchronous source.
      const upstream = new Subscriber<unknown>({
        next: () => monitor.activity(),
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      subscriber.add(upstream);
      subscriber.add(() => monitor.stop());
      source.subscribe(upstream);
      // A source that ended synchronously must not start timers.
      if (!subscriber.closed) monitor.start();
    });
}

function noop(): void {}
