// What an integration spec opens and must close after each test: cleanups (servers, clients, raw
// sockets) and subscriptions. One afterEach for every spec file that uses it.
import type { Subscription } from 'rxjs';
import { withDeadline } from './wait.js';

/** What a test registers for closing; both arrays are emptied in place after each test. */
export interface SpecScope {
  /** Run after each test in reverse order (clients and raw sockets pushed after their server close first). */
  readonly cleanups: Array<() => Promise<unknown> | void>;
  /** Unsubscribed after each test, before the cleanups run. */
  readonly subscriptions: Subscription[];
}

/**
 * Registers an afterEach in the calling `describe` that unsubscribes, then runs each cleanup within
 * `waitMs`.
 */
export function specScope(waitMs: number): SpecScope {
  const scope: SpecScope = { cleanups: [], subscriptions: [] };
  afterEach(async () => {
    for (const sub of scope.subscriptions.splice(0)) sub.unsubscribe();
    for (const cleanup of scope.cleanups.splice(0).reverse()) await withDeadline(Promise.resolve(cleanup()), waitMs, 'cleanup');
  });
  return scope;
}
