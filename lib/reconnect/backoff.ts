import { asyncScheduler, retry, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { checkDelay } from '../timing.js';

/**
 * Exponential backoff with jitter. Callers map `DEFAULTS.reconnectDelayMs`, `reconnectDelayMaxMs`,
 * `reconnectJitter` and `reconnectAttempts` onto it.
 */
export interface BackoffConfig {
  /** Delay before the first retry, before jitter, in ms. From 0 to 2^31 − 1. */
  initialDelayMs: number;
  /** Cap on the delay before jitter, in ms. From 0 to 2^31 − 1. */
  maxDelayMs: number;
  /** Fraction of each delay that is random, from 0 (none) to 1: the delay is drawn from [d·(1−jitter), d]. */
  jitter: number;
  /** Retries after the first failure before giving up; `Infinity` never gives up, 0 never retries. */
  maxAttempts: number;
}

/** Options for {@link retryWithBackoff}: a {@link BackoffConfig} plus the scheduler, randomness and a hook. */
export interface RetryWithBackoffConfig extends BackoffConfig {
  /** Scheduler for the delays. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
  /** Source of uniform values in [0, 1), as `Math.random`. @defaultValue `Math.random` */
  random?: () => number;
  /**
   * Called when a retry is scheduled, before the delay starts. `attempt` is 1-based (1 = first retry, and
   * it restarts at 1 after a success); `delayMs` is the jittered delay; `error` is what the source threw.
   * If it throws, the result errors with what it threw.
   */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/**
 * The delay before retry number `attempt + 1`: `min(maxDelayMs, initialDelayMs · 2^attempt)`, scaled by
 * `1 − jitter · random()`. The result always lies in `[d·(1−jitter), d]` where d is the capped delay, and
 * never exceeds `maxDelayMs`.
 *
 * ```
 * defaults, random() → 0:  500, 1000, 2000, 4000, 8000, 10000, 10000, …
 * defaults, random() → 1:  250,  500, 1000, 2000, 4000,  5000,  5000, …
 * ```
 *
 * @param attempt - 0-based retry index (0 = first retry). Must be an integer ≥ 0.
 * @param config - delays and jitter (`maxAttempts` is ignored here).
 * @param random - uniform values in [0, 1); values outside are clamped into [0, 1].
 * @returns the delay in ms.
 * @throws RangeError for a negative or fractional `attempt`, or a config {@link retryWithBackoff} would reject.
 * @example
 * backoffDelay(3, { initialDelayMs: 500, maxDelayMs: 10_000, jitter: 0.5, maxAttempts: Infinity }); // in [2000, 4000]
 */
export function backoffDelay(attempt: number, config: BackoffConfig, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`backoff attempt must be an integer >= 0, got ${attempt}`);
  }
  assertBackoffConfig(config);
  const { initialDelayMs, maxDelayMs, jitter } = config;
  // 2^attempt overflows to Infinity for attempt ≥ 1024: fine for the cap, but 0 · Infinity would be NaN.
  const capped = initialDelayMs === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
  const r = Math.min(1, Math.max(0, random()));
  // Also clamped against float rounding, so the bounds hold exactly.
  return Math.min(capped, Math.max(capped * (1 - jitter), capped * (1 - jitter * r)));
}

/**
 * Resubscribes to the source after each error, waiting {@link backoffDelay} between attempts, and gives up
 * after `maxAttempts` retries by erroring with the source's last error. A value from the source counts as
 * success and resets the schedule to the first delay (rxjs `retry` with `resetOnSuccess: true`).
 * Values and completion pass through; unsubscribing during a delay cancels it.
 *
 * ```
 * source (cold):  --#                          initialDelayMs 10, jitter 0, maxAttempts 2
 * subscriptions:  ^-!---------^-!-------------------^-!
 * result:         ------------------------------------#   (after 10 ms, then 20 ms)
 * ```
 *
 * @param config - backoff, scheduler, randomness and the `onRetry` hook.
 * @returns an operator that retries its source.
 * @throws RangeError at call time for an invalid config (delays below 0, above 2^31 − 1 or not a number, jitter outside
 * [0, 1], maxAttempts not an integer ≥ 0 or Infinity). Emits the source's last error once it gives up.
 * @example
 * defer(() => connect(host, port)).pipe(
 *   retryWithBackoff({ initialDelayMs: 500, maxDelayMs: 10_000, jitter: 0.5, maxAttempts: Infinity,
 *     onRetry: (attempt, delayMs) => state$.next('reconnecting') }),
 * );
 */
export function retryWithBackoff<T>(config: RetryWithBackoffConfig): MonoTypeOperatorFunction<T> {
  assertBackoffConfig(config);
  const { maxAttempts, scheduler = asyncScheduler, random = Math.random, onRetry } = config;
  const backoff: BackoffConfig = {
    initialDelayMs: config.initialDelayMs,
    maxDelayMs: config.maxDelayMs,
    jitter: config.jitter,
    maxAttempts,
  };
  return retry<T>({
    count: maxAttempts,
    resetOnSuccess: true,
    delay: (error: unknown, retryCount: number) => {
      const delayMs = backoffDelay(retryCount - 1, backoff, random);
      onRetry?.(retryCount, delayMs, error);
      return timer(delayMs, scheduler);
    },
  });
}

// Invalid values would otherwise yield NaN or Infinity delays, which Node timers turn into 1 ms.
function assertBackoffConfig(config: BackoffConfig): void {
  const { initialDelayMs, maxDelayMs, jitter, maxAttempts } = config;
  checkDelay('backoff initialDelayMs', initialDelayMs, { zero: true });
  checkDelay('backoff maxDelayMs', maxDelayMs, { zero: true });
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`backoff jitter must be within [0, 1], got ${jitter}`);
  }
  if (!(maxAttempts === Number.POSITIVE_INFINITY || (Number.isInteger(maxAttempts) && maxAttempts >= 0))) {
    throw new RangeError(`backoff maxAttempts must be an integer >= 0 or Infinity, got ${maxAttempts}`);
  }
}
