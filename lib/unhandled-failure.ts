/**
 * Send promises that a caller may drop without losing their failure: what nobody handles is reported.
 * @module
 */

/** A Promise that knows whether anyone has attached a reaction to it (then, catch, finally, await). */
class WatchedPromise<T> extends Promise<T> {
  // Derived promises are plain ones: only the promise handed to the caller is watched.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  handled = false;

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.handled = true;
    return super.then(onFulfilled, onRejected);
  }
}

const plainThen = Promise.prototype.then;

/** Who hears a failure nobody handled: one method, so a connection passes itself and needs no closure. */
export interface UnhandledReporter {
  /** A send failed and nobody handled its promise. */
  reportUnhandled(error: unknown): void;
}

/**
 * Returns a promise that settles like `source`. If it rejects and nobody has handled the returned
 * promise by the next turn of the event loop, `reporter` gets the error: a fire-and-forget send neither
 * crashes the process with an unhandled rejection nor fails in silence. A caller that awaits it, or
 * attaches a catch, gets the rejection as usual and nothing is reported.
 */
export function reportIfUnhandled<T>(source: Promise<T>, reporter: UnhandledReporter): Promise<T> {
  const watched = new WatchedPromise<T>((resolve, reject) => {
    source.then(resolve, reject);
  });
  // Our own reaction does not count as handling, and keeps Node from calling the rejection unhandled.
  void plainThen.call(watched, undefined, (error: unknown) => {
    if (!watched.handled) setImmediate(reportUnheard, watched, error, reporter);
  });
  return watched;
}

/** Runs a turn after the rejection: a caller that attached a handler meanwhile has heard it. */
function reportUnheard(watched: WatchedPromise<unknown>, error: unknown, reporter: UnhandledReporter): void {
  if (!watched.handled) reporter.reportUnhandled(error);
}
