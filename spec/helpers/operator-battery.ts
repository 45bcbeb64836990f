import { expect } from 'chai';
import { Observable, take, type OperatorFunction } from 'rxjs';
import { testScheduler } from './scheduler.js';

/** A synchronous source that yields `values` in a loop, `count` times in all, and counts them. */
export function countingSource<T>(values: T[], count: number): { source: Observable<T>; pulled: () => number } {
  let pulled = 0;
  const source = new Observable<T>((subscriber) => {
    for (let i = 0; i < count && !subscriber.closed; i++) {
      pulled++;
      subscriber.next(values[i % values.length]!);
    }
    subscriber.complete();
  });
  return { source, pulled: () => pulled };
}

/** Two inputs and the outputs the operator makes of them, one each. */
export interface BatterySample<I, O> {
  a: I;
  b: I;
  A: O;
  B: O;
}

/**
 * The RxJS standard battery for an operator that maps each input to one output: a source error passes
 * through, early unsubscription reaches the source, empty / never / throw sources, and a synchronous
 * source stopped by take(n). Call it inside the operator's describe().
 */
export function standardBattery<I, O>(make: () => OperatorFunction<I, O>, sample: BatterySample<I, O>): void {
  const { a, b, A, B } = sample;

  it('passes a source error through', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('source failed');
      const source = cold('-a-b-#', { a, b }, failure);
      expectObservable(source.pipe(make())).toBe('-A-B-#', { A, B }, failure);
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('unsubscribes from the source when the result is unsubscribed early', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a--b--|', { a, b });
      expectObservable(source.pipe(make()), '^--!').toBe('-A--', { A });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('completes on an empty source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<I>('|');
      expectObservable(source.pipe(make())).toBe('|');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('stays silent on a source that never emits', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<I>('-');
      expectObservable(source.pipe(make())).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('errors at once on a source that errors at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failure = new Error('boom');
      expectObservable(cold<I>('#', {}, failure).pipe(make())).toBe('#', {}, failure);
    });
  });

  it('stops a synchronous source when take(n) has enough', () => {
    testScheduler().run(({ expectObservable }) => {
      expectObservable(countingSource([a, b], 1000).source.pipe(make(), take(2))).toBe('(AB|)', { A, B });
    });
    const { source, pulled } = countingSource([a, b], 1000);
    source.pipe(make(), take(2)).subscribe();
    expect(pulled()).to.equal(2);
  });
}
