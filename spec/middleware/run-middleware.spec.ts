import { expect } from 'chai';
import { NEVER, of, throwError } from 'rxjs';
import { MiddlewareTimeoutError, ReplyError, UnauthorizedError } from '../../lib/errors.js';
import { runMiddleware, type Middleware } from '../../lib/middleware/run-middleware.js';
import { testScheduler } from '../helpers/scheduler.js';

type Conn = { id: string };
const conn: Conn = { id: 'c1' };
const TIMEOUT_MS = 5;

describe('middleware/runMiddleware', () => {
  it('completes at once with no middleware', () => {
    testScheduler().run(({ expectObservable }) => {
      expectObservable(runMiddleware<Conn, unknown>([], conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler: testScheduler() })).toBe('|');
    });
  });

  it('runs each middleware in order, each after the previous accepted, and completes when all accept', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const calls: string[] = [];
      const chain: Array<Middleware<Conn, string>> = [
        (c, auth) => {
          calls.push(`first ${c.id} ${auth}`);
          return cold('-a|');
        },
        () => {
          calls.push('second');
          return cold('--|');
        },
        () => {
          calls.push('third');
        },
      ];
      expectObservable(runMiddleware(chain, conn, 'secret', { timeoutMs: TIMEOUT_MS, scheduler })).toBe('---|');
      scheduler.flush();
      expect(calls).to.deep.equal(['first c1 secret', 'second', 'third']);
    });
  });

  it('refuses with ERR_UNAUTHORIZED when one throws a non-public error, keeping it as the cause, and runs no later middleware', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const secretFailure = new Error('database password rejected');
      let laterRan = false;
      const chain: Array<Middleware<Conn>> = [
        () => cold('-|'),
        () => {
          throw secretFailure;
        },
        () => {
          laterRan = true;
        },
      ];
      const refusal = new UnauthorizedError('ERR_UNAUTHORIZED', 'connection refused');
      expectObservable(runMiddleware(chain, conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler })).toBe('-#', undefined, refusal);
      scheduler.flush();
      expect(laterRan).to.equal(false);
    });
    // The cause is kept for the server's error$, never for the wire.
    let caught: unknown;
    runMiddleware<Conn, unknown>([() => throwError(() => new Error('inner'))], conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler: testScheduler() }).subscribe({
      error: (err: unknown) => (caught = err),
    });
    expect(caught).to.be.instanceOf(UnauthorizedError);
    expect((caught as UnauthorizedError).message).to.equal('connection refused');
    expect(((caught as UnauthorizedError).cause as Error).message).to.equal('inner');
  });

  it("refuses with a ReplyError's own code and message", () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const chain: Array<Middleware<Conn>> = [() => cold('--#', undefined, new ReplyError('ERR_BANNED', 'you are banned'))];
      expectObservable(runMiddleware(chain, conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler })).toBe('--#', undefined, new UnauthorizedError('ERR_BANNED', 'you are banned'));
    });
  });

  it('errors with MiddlewareTimeoutError when the chain takes longer than the limit, in virtual time', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-|');
      const stuck = cold('-');
      const chain: Array<Middleware<Conn>> = [() => slow, () => stuck];
      expectObservable(runMiddleware(chain, conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler })).toBe('-----#', undefined, new MiddlewareTimeoutError(TIMEOUT_MS));
      // The stuck middleware's Observable is unsubscribed when time runs out.
      expectSubscriptions(stuck.subscriptions).toBe('-^---!');
    });
  });

  it('accepts a chain that finishes exactly before the limit', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const chain: Array<Middleware<Conn>> = [() => cold('--|'), () => cold('--a')];
      expectObservable(runMiddleware(chain, conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler })).toBe('----|');
    });
  });

  it('times out a middleware whose Promise never settles', () => {
    const scheduler = testScheduler();
    scheduler.run(({ expectObservable }) => {
      const chain: Array<Middleware<Conn>> = [() => new Promise<void>(() => undefined), () => NEVER];
      expectObservable(runMiddleware(chain, conn, undefined, { timeoutMs: TIMEOUT_MS, scheduler })).toBe('-----#', undefined, new MiddlewareTimeoutError(TIMEOUT_MS));
    });
  });

  it('accepts on a resolved Promise and refuses on a rejected one', async () => {
    const run = (chain: Array<Middleware<Conn>>): Promise<unknown> =>
      new Promise((resolve) => runMiddleware(chain, conn, undefined, { timeoutMs: 1000, scheduler: testScheduler() }).subscribe({ complete: () => resolve('accepted'), error: resolve }));
    expect(await run([async () => undefined, () => of(1)])).to.equal('accepted');
    const refused = await run([async () => Promise.reject(new ReplyError('ERR_EXPIRED', 'token expired'))]);
    expect(refused).to.be.instanceOf(UnauthorizedError);
    expect((refused as UnauthorizedError).code).to.equal('ERR_EXPIRED');
    expect((refused as UnauthorizedError).retry).to.equal(false);
  });
});
