/**
 * Send promises a caller may drop.
 * @module
 */

/**
 * Marks `promise` as handled and returns it unchanged: a caller that awaits it still sees its rejection,
 * and one that fires and forgets does not crash the process with an unhandled rejection.
 */
export function droppable<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

function ignore(): void {}
