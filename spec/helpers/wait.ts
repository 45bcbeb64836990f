// Bounded waits for specs: every wait has a deadline and says what it was waiting for. No sleeps.
import { firstValueFrom, throwError, timeout, type Observable } from 'rxjs';

/** Rejects with a descriptive error when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** The first value of `source`, or a rejection after `ms`. Subscribe before triggering the event. */
export function nextValue<T>(source: Observable<T>, ms: number, what: string): Promise<T> {
  return firstValueFrom(
    source.pipe(timeout({ first: ms, with: () => throwError(() => new Error(`timed out after ${ms} ms waiting for ${what}`)) })),
  );
}

/** Resolves once `condition()` holds, checking on each macrotask turn; rejects after `ms`. */
export function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      else setTimeout(check, 1);
    };
    check();
  });
}

/** Lets pending promise callbacks (microtasks) run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** A promise with its resolve and reject exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The outcome of a promise, readable synchronously once settled. */
export interface Outcome<T> {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: unknown;
}

/** Tracks a promise's outcome (and handles its rejection, so none goes unhandled). */
export function track<T>(promise: Promise<T>): Outcome<T> {
  const outcome: Outcome<T> = { state: 'pending' };
  promise.then(
    (value) => {
      outcome.state = 'fulfilled';
      outcome.value = value;
    },
    (err: unknown) => {
      outcome.state = 'rejected';
      outcome.error = err;
    },
  );
  return outcome;
}
