/**
 * Server middleware: functions that accept or refuse a connection after its handshake has passed the
 * protocol checks and before the server registers it.
 * @module
 */
import type { Observable} from 'rxjs';
import { EMPTY, catchError, concatMap, defer, from, ignoreElements, isObservable, take, throwError, timeout, type SchedulerLike } from 'rxjs';
import { UnauthorizedError, MiddlewareTimeoutError, ReplyError } from '../errors.js';

/**
 * One middleware. Returning (or resolving, or an Observable emitting or completing) accepts the
 * connection for this step; throwing (or rejecting, or erroring) refuses it. Throw a `ReplyError` to
 * tell the client a code and message of your own; anything else reaches the client as
 * `ERR_UNAUTHORIZED` with a generic message.
 * @typeParam K the server's connection type
 * @typeParam A the handshake's `auth` value as the application expects it (unchecked: validate it)
 */
export type Middleware<K, A = unknown> = (connection: K, auth: A | undefined) => void | PromiseLike<unknown> | Observable<unknown>;

/** Options for {@link runMiddleware}. */
export interface MiddlewareConfig {
  /** Time the whole chain has, in ms; the server passes `handshakeTimeoutMs`. */
  timeoutMs: number;
  /** Drives the time limit. */
  scheduler: SchedulerLike;
}

/**
 * Runs a chain of middleware in order, each after the previous one accepted. Completes (with no value)
 * when all accept. Errors with `UnauthorizedError` when one refuses (its code is the thrown
 * `ReplyError`'s, or `ERR_UNAUTHORIZED`; `cause` is what was thrown), and with `MiddlewareTimeoutError`
 * when the chain has not finished within `timeoutMs`. Later middleware do not run after a refusal.
 *
 * ```
 * chain:  m1 accepts at 2, m2 never answers, timeoutMs 5
 * output: -----#      # = MiddlewareTimeoutError at 5
 * ```
 */
export function runMiddleware<K, A>(chain: ReadonlyArray<Middleware<K, A>>, connection: K, auth: A | undefined, config: MiddlewareConfig): Observable<never> {
  if (chain.length === 0) return EMPTY;
  return from(chain).pipe(
    concatMap((middleware) =>
      defer(() => asObservable(middleware(connection, auth))).pipe(
        take(1),
        ignoreElements(),
        catchError((thrown: unknown) => throwError(() => refusal(thrown))),
      ),
    ),
    timeout({ first: config.timeoutMs, scheduler: config.scheduler, with: () => throwError(() => new MiddlewareTimeoutError(config.timeoutMs)) }),
  );
}

function asObservable(result: void | PromiseLike<unknown> | Observable<unknown>): Observable<unknown> {
  if (isObservable(result)) return result;
  if (isPromiseLike(result)) return from(result);
  return EMPTY;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** What the client is told: a ReplyError's own code and message, or nothing about what went wrong. */
function refusal(thrown: unknown): UnauthorizedError {
  if (thrown instanceof ReplyError) return new UnauthorizedError(thrown.code, thrown.message, { cause: thrown });
  return new UnauthorizedError('ERR_UNAUTHORIZED', 'connection refused', { cause: thrown });
}
