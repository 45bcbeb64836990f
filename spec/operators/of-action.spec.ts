import { expect } from 'chai';
import { from } from 'rxjs';
import { ofAction } from '../../lib/operators/of-action.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';

const packet = (action: string, data: unknown = null): Packet => ({ action, data, 'packet-created': 1, token: null });

const C1 = packet('chat', 1);
const C2 = packet('chat', 2);
const P = packet('ping');
const Q = packet('chatter');

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

    standardBattery(() => ofAction('chat'), { a: C1, b: C2, A: C1, B: C2 });
  });
});
