// What an integration spec opens and must close after each test: cleanups (servers, clients, raw
// sockets) and subscriptions. One afterEach for every spec file that uses it, and the few ways specs
// open things (a listening server, a started client, a collected stream) registered for closing.
import type { Subscription } from 'rxjs';
import { RawClient } from './raw-client.js';
import { withDeadline } from './wait.js';

/** A server or client: something started for a test and stopped after it. */
export interface Endpoint {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
}

/** Anything with a subscribe(next) that returns a Subscription: an Observable, or a Subject. */
export interface Source<T> {
  subscribe(next: (value: T) => void): Subscription;
}

/** What a test registers for closing; both arrays are emptied in place after each test. */
export interface SpecScope {
  /** Run after each test in reverse order (clients and raw sockets pushed after their server close first). */
  readonly cleanups: Array<() => Promise<unknown> | void>;
  /** Unsubscribed after each test, before the cleanups run. */
  readonly subscriptions: Subscription[];
  /** Registers `endpoint` to be stopped after the test, and returns it (not started). */
  own<T extends Endpoint>(endpoint: T): T;
  /** Starts `endpoint` within the scope's wait (a server listens, a client has its handshake); stopped after the test. */
  started<T extends Endpoint>(endpoint: T): Promise<T>;
  /** Every value `source` emits from now until the end of the test, in order. */
  collect<T>(source: Source<T>): T[];
  /** A raw TCP peer connected to 127.0.0.1:`port`, destroyed after the test. */
  rawClient(port: number): Promise<RawClient>;
}

/**
 * Registers an afterEach in the calling `describe` that unsubscribes, then runs each cleanup within
 * `waitMs`.
 */
export function specScope(waitMs: number): SpecScope {
  const cleanups: SpecScope['cleanups'] = [];
  const subscriptions: Subscription[] = [];
  const own = <T extends Endpoint>(endpoint: T): T => {
    cleanups.push(() => endpoint.stop());
    return endpoint;
  };
  const scope: SpecScope = {
    cleanups,
    subscriptions,
    own,
    started: async (endpoint) => {
      await withDeadline(own(endpoint).start(), waitMs, `${endpoint.constructor.name}.start()`);
      return endpoint;
    },
    collect: <T>(source: Source<T>): T[] => {
      const values: T[] = [];
      subscriptions.push(source.subscribe((value) => values.push(value)));
      return values;
    },
    rawClient: async (port) => {
      const raw = await RawClient.connect(port);
      cleanups.push(() => raw.destroy());
      return raw;
    },
  };
  afterEach(async () => {
    for (const sub of subscriptions.splice(0)) sub.unsubscribe();
    for (const cleanup of cleanups.splice(0).reverse()) await withDeadline(Promise.resolve(cleanup()), waitMs, 'cleanup');
  });
  return scope;
}
