import { expect } from 'chai';
import { from, Observable, take } from 'rxjs';
import { ofAction } from '../../lib/operators/of-action.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { testScheduler } from '../helpers/scheduler.js';

const packet = (action: string, data: unknown = null): Packet => ({ action, data, 'packet-created': 1, token: null });

const C1 = packet('chat', 1);
const C2 = packet('chat', 2);
const P = packet('ping');
const Q = packet('chatter');

/** A synchronous source that yields `values` in a loop, `count` times in all, and counts them. */
function countingSource<T>(values: T[], count: number): { source: Observable<T>; pulled: () => number } {
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

describe('operators/ofAction', () => {
  describe('#ofAction', () => {
    it('keeps only packets of the given action', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-p-b-q-|', { a: C1, p: P, b: C2, q: Q });
        expectObservable(source.pipe(ofAction('chat'))).toBe('-a---b---|', { a: C1, b: C2 });
        expectSubscriptions(source.subscriptions).toBe('^--------!');
      });
    });

    it('matches the action exactly, not by prefix or case', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const source = cold('-a-b-c-|', { a: Q, b: packet('Chat'), c: packet('chat ') });
        expectObservable(source.pipe(ofAction('chat'))).toBe('-------|');
      });
    });

    it('narrows the action type', () => {
      const seen: 'ping'[] = [];
      from([C1, P]).pipe(ofAction('ping')).subscribe((p) => seen.push(p.action));
      expect(seen).to.deep.equal(['ping']);
    });

    it('passes a source error through', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('packets failed');
        const source = cold('-a-p-#', { a: C1, p: P }, failure);
        expectObservable(source.pipe(ofAction('chat'))).toBe('-a---#', { a: C1 }, failure);
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('errors and unsubscribes the source when reading the action throws', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('hostile getter');
        const hostile = Object.defineProperty({ ...P }, 'action', {
          get() {
            throw failure;
          },
        }) as Packet;
        const source = cold('-a-h-b-|', { a: C1, h: hostile, b: C2 });
        expectObservable(source.pipe(ofAction('chat'))).toBe('-a-#', { a: C1 }, failure);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('unsubscribes from the source when the result is unsubscribed early', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b--|', { a: C1, b: C2 });
        expectObservable(source.pipe(ofAction('chat')), '^--!').toBe('-a--', { a: C1 });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('completes on an empty source', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold<Packet>('|');
        expectObservable(source.pipe(ofAction('chat'))).toBe('|');
        expectSubscriptions(source.subscriptions).toBe('(^!)');
      });
    });

    it('stays silent on a source that never emits', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold<Packet>('-');
        expectObservable(source.pipe(ofAction('chat'))).toBe('-');
        expectSubscriptions(source.subscriptions).toBe('^');
      });
    });

    it('errors at once on a source that errors at once', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const failure = new Error('boom');
        expectObservable(cold<Packet>('#', {}, failure).pipe(ofAction('chat'))).toBe('#', {}, failure);
      });
    });

    it('stops a synchronous source when take(n) has enough', () => {
      testScheduler().run(({ expectObservable }) => {
        expectObservable(from([P, C1, P, C2, C1]).pipe(ofAction('chat'), take(2))).toBe('(ab|)', { a: C1, b: C2 });
      });
      const { source, pulled } = countingSource([P, C1], 1000);
      let count = 0;
      source.pipe(ofAction('chat'), take(3)).subscribe(() => count++);
      expect(count).to.equal(3);
      expect(pulled()).to.equal(6);
    });
  });
});
