import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { defer, Observable, take, throwError } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { DEFAULTS } from '../../lib/defaults.js';
import { backoffDelay, retryWithBackoff, type BackoffConfig } from '../../lib/reconnect/backoff.js';
import { testScheduler } from '../helpers/scheduler.js';
import { seededRandom } from '../helpers/seeded-random.js';

const defaults: BackoffConfig = {
  initialDelayMs: DEFAULTS.reconnectDelayMs,
  maxDelayMs: DEFAULTS.reconnectDelayMaxMs,
  jitter: DEFAULTS.reconnectJitter,
  maxAttempts: DEFAULTS.reconnectAttempts,
};

describe('backoffDelay', () => {
  const schedule = (random: () => number, n = 9) =>
    Array.from({ length: n }, (_, attempt) => backoffDelay(attempt, defaults, random));

  it('doubles from initialDelayMs and caps at maxDelayMs (random() = 0: the full delay)', () => {
    expect(schedule(() => 0)).to.deep.equal([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('takes off at most jitter·d (random() = 1: the lower bound)', () => {
    expect(schedule(() => 1)).to.deep.equal([250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
  });

  it('scales linearly with random() in between', () => {
    expect(backoffDelay(1, defaults, () => 0.5)).to.equal(750);
    expect(backoffDelay(0, { ...defaults, jitter: 0.2 }, () => 0.5)).to.equal(450);
  });

  it('ignores random() when jitter is 0 and spans [0, d] when jitter is 1', () => {
    expect(backoffDelay(2, { ...defaults, jitter: 0 }, () => 0.9)).to.equal(2000);
    expect(backoffDelay(2, { ...defaults, jitter: 1 }, () => 1)).to.equal(0);
  });

  it('clamps random() values outside [0, 1]', () => {
    expect(backoffDelay(0, defaults, () => -3)).to.equal(500);
    expect(backoffDelay(0, defaults, () => 7)).to.equal(250);
  });

  it('stays finite for huge attempts and a zero initial delay', () => {
    expect(backoffDelay(5000, defaults, () => 0)).to.equal(10_000);
    expect(backoffDelay(5000, { ...defaults, initialDelayMs: 0 }, () => 0)).to.equal(0);
  });

  it('uses Math.random by default', () => {
    const stub = sinon.stub(Math, 'random').returns(1);
    try {
      expect(backoffDelay(0, defaults)).to.equal(250);
      expect(stub.calledOnce).to.equal(true);
    } finally {
      stub.restore();
    }
  });

  it('rejects invalid attempts and configs', () => {
    expect(() => backoffDelay(-1, defaults)).to.throw(RangeError);
    expect(() => backoffDelay(1.5, defaults)).to.throw(RangeError);
    for (const bad of [
      { initialDelayMs: -1 },
      { initialDelayMs: Number.NaN },
      { maxDelayMs: Number.POSITIVE_INFINITY },
      { jitter: 1.5 },
      { jitter: -0.1 },
      { jitter: Number.NaN },
      { maxAttempts: -1 },
      { maxAttempts: 2.5 },
    ]) {
      expect(() => backoffDelay(0, { ...defaults, ...bad }), JSON.stringify(bad)).to.throw(RangeError);
      expect(() => retryWithBackoff({ ...defaults, ...bad }), JSON.stringify(bad)).to.throw(RangeError);
    }
  });

  it('property: every delay lies in [d·(1−j), d] and never exceeds maxDelayMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 60_000, noNaN: true }),
        fc.double({ min: 0, max: 600_000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (attempt, initialDelayMs, maxDelayMs, jitter, r) => {
          const config = { initialDelayMs, maxDelayMs, jitter, maxAttempts: Number.POSITIVE_INFINITY };
          // 0 · 2^1024 would be 0 · Infinity = NaN; a zero initial delay stays 0.
          const d = initialDelayMs === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
          const delay = backoffDelay(attempt, config, () => r);
          expect(Number.isFinite(delay), 'finite').to.equal(true);
          expect(delay).to.be.at.most(d);
          expect(delay).to.be.at.least(d * (1 - jitter));
          expect(delay).to.be.at.most(maxDelayMs);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('spreads the first retry of 50 clients across the jitter window (seeded uniform random)', () => {
    const random = seededRandom(0x5eed);
    const delays = Array.from({ length: 50 }, () => backoffDelay(0, defaults, random));
    const window = defaults.initialDelayMs * defaults.jitter; // [250, 500]: 250 ms wide
    const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
    const sd = Math.sqrt(delays.reduce((sum, d) => sum + (d - mean) ** 2, 0) / delays.length);
    const buckets = new Set(delays.map((d) => Math.floor(d / 50)));

    for (const d of delays) expect(d).to.be.within(250, 500);
    expect(sd, 'standard deviation').to.be.greaterThan(0.1 * window);
    expect(buckets.size, '50 ms buckets used').to.be.greaterThan(1);
    // Uniform over the window uses every 50 ms bucket of [250, 500) with 50 samples.
    expect([...buckets].sort((a, b) => a - b)).to.deep.equal([5, 6, 7, 8, 9]);
  });

  it('does not spread them without jitter (the spread check above can fail)', () => {
    const random = seededRandom(0x5eed);
    const delays = Array.from({ length: 50 }, () => backoffDelay(0, { ...defaults, jitter: 0 }, random));
    expect(new Set(delays)).to.deep.equal(new Set([500]));
  });
});

describe('retryWithBackoff', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = testScheduler();
  });

  const config = (extra: Partial<Parameters<typeof retryWithBackoff>[0]> = {}) => ({
    initialDelayMs: 10,
    maxDelayMs: 40,
    jitter: 0.5,
    maxAttempts: Number.POSITIVE_INFINITY,
    random: () => 0,
    scheduler,
    ...extra,
  });

  it('passes values and completion through without retrying', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-|');
      expectObservable(source.pipe(retryWithBackoff(config()))).toBe('-a-b-|');
      expectSubscriptions(source.subscriptions).toBe('^----!');
    }));

  it('resubscribes after 10, 20, 40, 40 ms (doubling, capped) with random() = 0', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      expectObservable(source.pipe(retryWithBackoff(config())), '^ 130ms !').toBe('');
      // Errors at 2, 14, 36, 78, 120; the delay after the 5th (40 ms, until 160) is cut short at 131.
      expectSubscriptions(source.subscriptions).toBe(['^-!', '12ms ^-!', '34ms ^-!', '76ms ^-!', '118ms ^-!']);
    }));

  it('shortens each delay by jitter·random(): 5, 10, 20 ms with jitter 0.5 and random() = 1', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      expectObservable(source.pipe(retryWithBackoff(config({ random: () => 1, maxAttempts: 3 })))).toBe('43ms #');
      expectSubscriptions(source.subscriptions).toBe(['^-!', '7ms ^-!', '19ms ^-!', '41ms ^-!']);
    }));

  it('gives up after maxAttempts retries with the last error', () =>
    scheduler.run(({ expectObservable }) => {
      let subscriptions = 0;
      const source = defer(() => {
        subscriptions += 1;
        const n = subscriptions;
        return throwError(() => new Error(`failure ${n}`));
      });
      // Synchronous failures: retries at 10, 10+20, 30+40; the 4th failure (3rd retry) is final.
      expectObservable(source.pipe(retryWithBackoff(config({ maxAttempts: 3 })))).toBe('70ms #', undefined, new Error('failure 4'));
    }));

  it('never retries with maxAttempts 0', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      expectObservable(source.pipe(retryWithBackoff(config({ maxAttempts: 0 })))).toBe('--#');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    }));

  it('reports each retry to onRetry with a 1-based attempt, the delay and the error', () => {
    const calls: [number, number, unknown][] = [];
    const err = new Error('refused');
    scheduler.run(({ expectObservable }) => {
      const source = throwError(() => err);
      const retried = source.pipe(retryWithBackoff(config({ maxAttempts: 4, onRetry: (...args) => calls.push(args) })));
      expectObservable(retried).toBe('110ms #', undefined, err);
    });
    expect(calls).to.deep.equal([
      [1, 10, err],
      [2, 20, err],
      [3, 40, err],
      [4, 40, err],
    ]);
  });

  it('errors with what onRetry throws', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const hookError = new Error('hook');
      const source = cold('--#');
      const retried = source.pipe(
        retryWithBackoff(
          config({
            onRetry: () => {
              throw hookError;
            },
          }),
        ),
      );
      expectObservable(retried).toBe('--#', undefined, hookError);
      expectSubscriptions(source.subscriptions).toBe('^-!');
    }));

  it('resets the schedule after a success', () => {
    const attempts: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // Each subscription emits once (a success) then fails: every retry is a "first" retry after 10 ms,
      // and maxAttempts 1 is never exhausted.
      const source = cold('a-#');
      const retried = source.pipe(retryWithBackoff(config({ maxAttempts: 1, onRetry: (n) => attempts.push(n) })), take(4));
      expectObservable(retried).toBe('a 11ms a 11ms a 11ms (a|)');
      expectSubscriptions(source.subscriptions).toBe(['^-!', '12ms ^-!', '24ms ^-!', '36ms (^!)']);
    });
    expect(attempts).to.deep.equal([1, 1, 1]);
  });

  it('cancels the pending delay on unsubscribe', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      expectObservable(source.pipe(retryWithBackoff(config())), '^ 5ms !').toBe('');
      expectSubscriptions(source.subscriptions).toBe('^-!');
      scheduler.schedule(() => expect(scheduler.actions, 'pending timers').to.have.length(0), 7);
    }));

  it('uses the scheduler it is given for the delays', () => {
    // With a virtual scheduler, no real time passes: the retry happens inside one synchronous flush.
    let subscribed = 0;
    const source = new Observable<number>((subscriber) => {
      subscribed += 1;
      if (subscribed < 3) subscriber.error(new Error('down'));
      else subscriber.next(subscribed);
    });
    const seen: number[] = [];
    source.pipe(retryWithBackoff(config()), take(1)).subscribe((v) => seen.push(v));
    expect(seen).to.deep.equal([]);
    scheduler.flush();
    expect(seen).to.deep.equal([3]);
    expect(scheduler.now()).to.equal(30);
  });
});
