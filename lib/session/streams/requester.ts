/**
 * The requester's API over a stream table: cold Observables that open one stream per subscription,
 * the demand-mode handle, and uploads.
 * @module
 */
import { Observable, defer, from, switchMap } from 'rxjs';
import { StreamCreditError, StreamProtocolError } from '../../errors.js';
import { checkDelay } from '../../timing.js';
import { MAX_STREAM_CREDIT } from '../../protocol/stream-packets.js';
import type { DemandStream, DemandStreamOptions, StreamOptions } from '../../types.js';
import type { OpenedStream, StreamTable } from './stream-table.js';

/** Gives the table to open on, or the error why no stream can be opened now. */
export type TableSource = () => StreamTable | Error;

/** Checks the options of one stream; throws RangeError naming the bad one. */
function checkOptions(options: StreamOptions): void {
  if (options.prefetch !== undefined && !(Number.isInteger(options.prefetch) && options.prefetch >= 1 && options.prefetch <= MAX_STREAM_CREDIT)) {
    throw new RangeError(`prefetch must be an integer from 1 to ${MAX_STREAM_CREDIT}, got ${options.prefetch}`);
  }
  if (options.firstValueTimeoutMs !== undefined) checkDelay('firstValueTimeoutMs', options.firstValueTimeoutMs);
  if (options.idleTimeoutMs !== undefined) checkDelay('idleTimeoutMs', options.idleTimeoutMs);
}

/**
 * A cold Observable: each subscription opens one stream (a channel when `source` is given) and
 * unsubscribing cancels it.
 */
export function streamOf(tables: TableSource, action: string, data: unknown, source: unknown, options: StreamOptions, defaultPrefetch: number): Observable<unknown> {
  checkOptions(options);
  const prefetch = options.prefetch ?? defaultPrefetch;
  return new Observable<unknown>((subscriber) => {
    const table = tables();
    if (table instanceof Error) {
      subscriber.error(table);
      return undefined;
    }
    const opened = table.open({ action, data, subscriber, prefetch, initialCredit: prefetch, timing: options, source });
    return () => opened?.close();
  });
}

/** The demand-mode handle: `request(n)` before subscribing adds to the open's credit, after it is sent. */
export function demandStreamOf(tables: TableSource, action: string, data: unknown, options: DemandStreamOptions): DemandStream<unknown> {
  checkOptions(options);
  let current: OpenedStream | null = null;
  let pending = 0;
  const values$ = new Observable<unknown>((subscriber) => {
    if (current) {
      subscriber.error(new StreamProtocolError('a demand stream has one subscriber at a time'));
      return undefined;
    }
    const table = tables();
    if (table instanceof Error) {
      subscriber.error(table);
      return undefined;
    }
    const initialCredit = pending;
    pending = 0;
    const opened = table.open({ action, data, subscriber, prefetch: 0, initialCredit, timing: options });
    if (opened === null || subscriber.closed) return undefined;
    current = opened;
    return () => {
      current = null;
      opened.close();
    };
  });
  return {
    values$,
    request(n: number): void {
      if (current) {
        current.request(n);
        return;
      }
      pending = addCredit(pending, n);
    },
  };
}

/**
 * `pending + n`, for a `request(n)` made before the stream is open.
 * @throws StreamCreditError when `n` is not a whole number from 1, or the sum would exceed 2^31 − 1
 */
function addCredit(pending: number, n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new StreamCreditError(`request(n) needs a whole number from 1, got ${n}`);
  if (pending + n > MAX_STREAM_CREDIT) throw new StreamCreditError(`credit ${pending} + ${n} would exceed ${MAX_STREAM_CREDIT}`);
  return pending + n;
}

/**
 * A demand handle for a stream that opens later (a client's, once it is connected): `opening` is called
 * at the first subscription, and what `request(n)` asked for until its handle arrives goes with the open.
 */
export function laterDemandStream<T>(opening: () => Promise<DemandStream<T>>): DemandStream<T> {
  let handle: DemandStream<T> | null = null;
  let arriving: Promise<DemandStream<T>> | null = null;
  let pending = 0;
  const arrive = (later: DemandStream<T>): DemandStream<T> => {
    handle = later;
    if (pending > 0) later.request(pending);
    pending = 0;
    return later;
  };
  return {
    values$: defer(() => from((arriving ??= opening().then(arrive)))).pipe(switchMap((later) => later.values$)),
    request(n: number): void {
      if (handle) handle.request(n);
      else pending = addCredit(pending, n);
    },
  };
}

/** An upload: resolves with the responder's first value (undefined if none) once it completes. */
export function uploadOf(values: Observable<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let first: unknown;
    let seen = false;
    values.subscribe({
      next(value) {
        if (!seen) {
          seen = true;
          first = value;
        }
      },
      error: reject,
      complete: () => resolve(first),
    });
  });
}
