import { expect } from 'chai';
import { EMPTY, NEVER, take, throwError } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { HeartbeatTimeoutError } from '../../lib/errors.js';
import { heartbeat } from '../../lib/operators/heartbeat.js';
import { testScheduler } from '../helpers/scheduler.js';

describe('heartbeat', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = testScheduler();
  });

  // In run mode one frame is 1 ms; the operator must use the scheduler it is given.
  const hb = (intervalMs: number, timeoutMs: number) => heartbeat({ intervalMs, timeoutMs, scheduler });

  it('emits a ping every intervalMs while the peer stays active, and completes with the source', () =>
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const activity = hot('12ms a 9ms a 9ms a 2ms |');
      expectObservable(activity.pipe(hb(10, 4))).toBe('10ms p 9ms p 9ms p 4ms |', { p: 'ping' });
      expectSubscriptions(activity.subscriptions).toBe('^ 34ms !');
    }));

  it('errors with HeartbeatTimeoutError exactly timeoutMs after an unanswered ping', () =>
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const activity = hot('-');
      expectObservable(activity.pipe(hb(10, 4))).toBe('10ms p 3ms #', { p: 'ping' }, new HeartbeatTimeoutError(4));
      expectSubscriptions(activity.subscriptions).toBe('^ 13ms !');
    }));

  it('keeps the timeout error class, code and timeoutMs', () =>
    scheduler.run(({ hot }) => {
      let caught: unknown;
      hot('-')
        .pipe(hb(10, 4))
        .subscribe({ error: (err: unknown) => (caught = err) });
      scheduler.schedule(() => {
        expect(caught).to.be.instanceOf(HeartbeatTimeoutError);
        expect(caught).to.include({ code: 'ERR_HEARTBEAT_TIMEOUT', timeoutMs: 4 });
      }, 20);
    }));

  it('does not time out at ping+timeoutMs-1', () =>
    scheduler.run(({ hot, expectObservable }) => {
      // Unsubscribed one frame before the deadline: no error yet.
      expectObservable(hot('-').pipe(hb(10, 4)), '^ 12ms !').toBe('10ms p', { p: 'ping' });
    }));

  it('counts any activity after a ping as an answer', () =>
    scheduler.run(({ hot, expectObservable }) => {
      // Answered at 13 (one frame before the deadline at 14); the ping at 20 goes unanswered -> error at 24.
      const activity = hot('13ms x', { x: { any: 'packet' } });
      expectObservable(activity.pipe(hb(10, 4))).toBe('10ms p 9ms p 3ms #', { p: 'ping' }, new HeartbeatTimeoutError(4));
    }));

  it('does not count activity before a ping as an answer to it', () =>
    scheduler.run(({ hot, expectObservable }) => {
      const activity = hot('5ms a 1ms a');
      expectObservable(activity.pipe(hb(10, 4))).toBe('10ms p 3ms #', { p: 'ping' }, new HeartbeatTimeoutError(4));
    }));

  it('measures the deadline from the first unanswered ping when timeoutMs > intervalMs', () =>
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot('-').pipe(hb(10, 15))).toBe('10ms p 9ms p 4ms #', { p: 'ping' }, new HeartbeatTimeoutError(15));
    }));

  it('re-arms the deadline at the next ping after an answer', () =>
    scheduler.run(({ hot, expectObservable }) => {
      // timeout 15 > interval 10: answered at 12, so the ping at 20 starts a new deadline at 35 (not 25).
      const activity = hot('12ms a');
      expectObservable(activity.pipe(hb(10, 15))).toBe('10ms p 9ms p 9ms p 4ms #', { p: 'ping' }, new HeartbeatTimeoutError(15));
    }));

  it('answers every outstanding ping with one activity when timeoutMs > intervalMs', () =>
    scheduler.run(({ hot, expectObservable }) => {
      // Pings at 10 and 20 both unanswered until 22; the next unanswered ping is at 30 -> error at 45.
      const activity = hot('22ms a');
      expectObservable(activity.pipe(hb(10, 15))).toBe(
        '10ms p 9ms p 9ms p 9ms p 4ms #',
        { p: 'ping' },
        new HeartbeatTimeoutError(15),
      );
    }));

  it('passes a source error through and stops pinging', () =>
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const err = new Error('socket reset');
      const activity = hot('12ms a 9ms #', undefined, err);
      expectObservable(activity.pipe(hb(10, 4))).toBe('10ms p 9ms p 1ms #', { p: 'ping' }, err);
      expectSubscriptions(activity.subscriptions).toBe('^ 21ms !');
    }));

  it('passes a source error through even after a timeout was armed', () =>
    scheduler.run(({ hot, expectObservable }) => {
      const err = new Error('boom');
      expectObservable(hot('11ms #', undefined, err).pipe(hb(10, 4))).toBe('10ms p #', { p: 'ping' }, err);
    }));

  it('completes at once for an empty source', () =>
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const activity = cold('|');
      expectObservable(activity.pipe(hb(10, 4))).toBe('|');
      expectSubscriptions(activity.subscriptions).toBe('(^!)');
      expectObservable(EMPTY.pipe(hb(10, 4))).toBe('|');
    }));

  it('errors at once for a source that throws', () =>
    scheduler.run(({ expectObservable }) => {
      const err = new Error('nope');
      expectObservable(throwError(() => err).pipe(hb(10, 4))).toBe('#', undefined, err);
    }));

  it('times out on a never source', () =>
    scheduler.run(({ expectObservable }) => {
      expectObservable(NEVER.pipe(hb(10, 4))).toBe('10ms p 3ms #', { p: 'ping' }, new HeartbeatTimeoutError(4));
    }));

  it('stops after take(n) downstream and unsubscribes the source', () =>
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const activity = hot('12ms a');
      expectObservable(activity.pipe(hb(10, 4), take(2))).toBe('10ms p 9ms (p|)', { p: 'ping' });
      expectSubscriptions(activity.subscriptions).toBe('^ 19ms !');
    }));

  it('unsubscribes the source and clears both timers on early unsubscribe', () =>
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const activity = hot('-');
      // Unsubscribed at 12: the interval and the deadline (due at 14) must both be gone.
      expectObservable(activity.pipe(hb(10, 4)), '^ 11ms !').toBe('10ms p', { p: 'ping' });
      expectSubscriptions(activity.subscriptions).toBe('^ 11ms !');
      scheduler.schedule(() => expect(scheduler.actions, 'pending timers').to.have.length(0), 13);
    }));

  it('leaves no timer behind after a timeout', () =>
    scheduler.run(({ hot }) => {
      hot('-')
        .pipe(hb(10, 4))
        .subscribe({ error: () => undefined });
      scheduler.schedule(() => expect(scheduler.actions, 'pending timers').to.have.length(0), 15);
    }));

  it('leaves no timer behind after completion', () =>
    scheduler.run(({ hot }) => {
      hot('12ms |').pipe(hb(10, 4)).subscribe();
      scheduler.schedule(() => expect(scheduler.actions, 'pending timers').to.have.length(0), 13);
    }));

  it('gives each subscription its own timers', () =>
    scheduler.run(({ cold, expectObservable }) => {
      const pinged = cold('-').pipe(hb(10, 4));
      expectObservable(pinged).toBe('10ms p 3ms #', { p: 'ping' }, new HeartbeatTimeoutError(4));
      expectObservable(pinged, '5ms ^').toBe('15ms p 3ms #', { p: 'ping' }, new HeartbeatTimeoutError(4));
    }));

  it('rejects a non-positive or non-finite interval or timeout', () => {
    for (const [intervalMs, timeoutMs] of [
      [0, 1],
      [-1, 1],
      [Number.NaN, 1],
      [Number.POSITIVE_INFINITY, 1],
      [1, 0],
      [1, Number.POSITIVE_INFINITY],
    ] as const) {
      expect(() => heartbeat({ intervalMs, timeoutMs }), `${intervalMs}/${timeoutMs}`).to.throw(RangeError);
    }
  });
});
