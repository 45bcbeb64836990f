import { expect } from 'chai';
import { NEVER, Observable, toArray } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { ConnectionClosedError, RemoteError, StreamLimitError, StreamOverflowError, StreamTimeoutError, StreamCreditError } from '../../../lib/errors.js';
import { VALUES_PER_FLUSH } from '../../../lib/session/streams/fair-sender.js';
import { demandStreamOf, streamOf } from '../../../lib/session/streams/requester.js';
import { testScheduler } from '../../helpers/scheduler.js';
import { until } from '../../helpers/wait.js';
import { pairSettings, sentOf, streamPair, type StreamPair } from '../../helpers/stream-pair.js';

/** Subscribes and records `frame:value` (and `frame:|`, `frame:#code`) on the scheduler's clock. */
function record(scheduler: TestScheduler, values$: Observable<unknown>): string[] {
  const events: string[] = [];
  values$.subscribe({
    next: (value) => events.push(`${scheduler.now()}:${String(value)}`),
    error: (err: { code?: string }) => events.push(`${scheduler.now()}:#${err.code}`),
    complete: () => events.push(`${scheduler.now()}:|`),
  });
  return events;
}

const remote = (code: string, message: string): RemoteError => new RemoteError(code, message);

describe('session/streams/StreamTable (virtual time, a link with 1 frame latency)', () => {
  let scheduler: TestScheduler;

  beforeEach(() => {
    scheduler = testScheduler();
  });

  const open = (pair: StreamPair, action: string, data: unknown = null, options = {}): Observable<unknown> =>
    streamOf(() => pair.client.table, action, data, undefined, options, 4);

  describe('credit', () => {
    it('paces the responder by the window: with prefetch 1, one value per round trip', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        const source = cold('abc|');
        pair.handlers.set('feed', () => source);
        expectObservable(open(pair, 'feed', null, { prefetch: 1 })).toBe('--a-b-(c|)');
        expectSubscriptions(source.subscriptions).toBe('-^--!');
      });
    });

    it('never sends more values than the credit granted so far, and refills at three quarters', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { maxStreamBufferedValues: 16 }));
      let events: string[] = [];
      scheduler.run(({ cold }) => {
        pair.handlers.set('feed', () => cold('(abcdefghijklmnop|)'));
        events = record(scheduler, open(pair, 'feed', null, { prefetch: 4 }));
      });
      // A window of 4 refills by 3 (4 - floor(4/4)) each round trip of 2 frames.
      expect(events).to.deep.equal(['2:a', '2:b', '2:c', '2:d', '4:e', '4:f', '4:g', '6:h', '6:i', '6:j', '8:k', '8:l', '8:m', '10:n', '10:o', '10:p', '10:|']);
      expect(pair.client.sent[0]!.credit).to.equal(4);
      expect(sentOf(pair.client, 'stream-credit', 1).map((packet) => packet.data)).to.deep.equal([3, 3, 3, 3, 3]);
      // Four grants of 3 reached the server before it completed (the fifth crossed the completion).
      expect(sentOf(pair.server, 'stream-next', 1)).to.have.length(4 + 3 * 4);
    });

    it('hands each credit grant to the socket at once, without waiting for the end of the tick', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { maxStreamBufferedValues: 16 }));
      scheduler.run(({ cold }) => {
        pair.handlers.set('feed', () => cold('(abcdefghij|)'));
        record(scheduler, open(pair, 'feed', null, { prefetch: 4 }));
      });
      const grants = pair.client.sent.flatMap((packet, index) => (packet.action === 'stream-credit' ? [index + 1] : []));
      expect(grants).to.have.length.greaterThan(0);
      expect(pair.client.flushes).to.deep.equal(grants);
    });

    it('hands the values to the socket every VALUES_PER_FLUSH values, so the requester reads a burst while the rest is produced', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { maxStreamBufferedValues: 256 }));
      const count = 2 * VALUES_PER_FLUSH + 8;
      scheduler.run(({ cold }) => {
        pair.handlers.set('feed', () => cold(`(${'a'.repeat(count)}|)`));
        record(scheduler, open(pair, 'feed', null, { prefetch: 256 }));
      });
      expect(sentOf(pair.server, 'stream-next', 1)).to.have.length(count);
      expect(pair.server.flushes).to.deep.equal([VALUES_PER_FLUSH, 2 * VALUES_PER_FLUSH]);
    });

    it('holds values beyond the credit in the buffer and fails with ERR_STREAM_OVERFLOW on both sides past maxStreamBufferedValues', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { maxStreamBufferedValues: 4 }));
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('(abcdefg|)');
        pair.handlers.set('feed', () => source);
        const overflow = new StreamOverflowError(4);
        expectObservable(open(pair, 'feed', null, { prefetch: 1 })).toBe('--(a#)', undefined, remote('ERR_STREAM_OVERFLOW', overflow.message));
        expectSubscriptions(source.subscriptions).toBe('-(^!)');
      });
      expect(pair.server.reported.map((error) => error.code)).to.deep.equal(['ERR_STREAM_OVERFLOW']);
      expect(pair.server.table.size).to.equal(0);
      expect(pair.client.table.size).to.equal(0);
    });

    it('keeps exactly maxStreamBufferedValues waiting without failing', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler, { maxStreamBufferedValues: 4 }));
        pair.handlers.set('feed', () => cold('(abcde|)'));
        expectObservable(open(pair, 'feed', null, { prefetch: 1 })).toBe('--a-b-c-d-(e|)');
      });
    });

    it('refuses a grant that would raise the credit past 2^31 - 1 with ERR_STREAM_CREDIT, and stops the producer', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-');
        pair.handlers.set('feed', () => source);
        scheduler.schedule(() => pair.deliver(pair.server, { action: 'stream-credit', data: 2 ** 31 - 4, 'packet-created': 0, token: 't', stream: 1 }), 3);
        const error = new StreamCreditError(`credit 4 + ${2 ** 31 - 4} would exceed ${2 ** 31 - 1}`);
        expectObservable(open(pair, 'feed')).toBe('----#', undefined, remote('ERR_STREAM_CREDIT', error.message));
        expectSubscriptions(source.subscriptions).toBe('-^-!');
      });
      expect(pair.server.reported.map((error) => error.code)).to.deep.equal(['ERR_STREAM_CREDIT']);
    });

    it('accepts a grant that brings the credit to exactly 2^31 - 1', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      scheduler.run(({ cold, expectObservable }) => {
        pair.handlers.set('feed', () => cold('-----a|'));
        scheduler.schedule(() => pair.deliver(pair.server, { action: 'stream-credit', data: 2 ** 31 - 5, 'packet-created': 0, token: 't', stream: 1 }), 3);
        expectObservable(open(pair, 'feed')).toBe('-------a|');
      });
      expect(sentOf(pair.server, 'stream-error')).to.deep.equal([]);
    });

    it('treats values beyond the granted credit as ERR_STREAM_CREDIT at the requester', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      scheduler.run(({ expectObservable }) => {
        pair.handlers.set('feed', () => NEVER);
        for (let i = 0; i < 3; i++) {
          scheduler.schedule(() => pair.deliver(pair.client, { action: 'stream-next', data: i, 'packet-created': 0, token: 't', stream: 1 }), 2);
        }
        const error = new StreamCreditError('the peer sent a value beyond the credit it was granted');
        const demand = demandStreamOf(() => pair.client.table, 'feed', null, {});
        demand.request(2);
        expectObservable(demand.values$).toBe('--(01#)', { 0: 0, 1: 1 }, error);
      });
      expect(sentOf(pair.client, 'stream-error', 1).map((packet) => (packet.data as { code: string }).code)).to.deep.equal(['ERR_STREAM_CREDIT']);
    });

    it("refuses a bad stream-credit sent to a request-stream's requester with ERR_STREAM_CREDIT, and ignores a good one", () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      const credit = (data: unknown, stream: number) => ({ action: 'stream-credit', data, 'packet-created': 0, token: 't', stream });
      scheduler.run(({ cold, expectObservable }) => {
        pair.handlers.set('feed', () => cold('----a|'));
        scheduler.schedule(() => pair.deliver(pair.client, credit(-5, 1)), 2);
        scheduler.schedule(() => pair.deliver(pair.client, credit(5, 3)), 2);
        expectObservable(open(pair, 'feed')).toBe('--#', undefined, new StreamCreditError('a credit grant must be a whole number from 1 to 2147483647'));
        expectObservable(open(pair, 'feed')).toBe('------a|');
      });
      expect(sentOf(pair.client, 'stream-error', 1).map((packet) => (packet.data as { code: string }).code)).to.deep.equal(['ERR_STREAM_CREDIT']);
      expect(sentOf(pair.client, 'stream-error', 3)).to.deep.equal([]);
    });
  });

  describe('demand mode', () => {
    it('sends nothing but what request(n) asks for', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('feed', () => cold('abcd|'));
        const demand = demandStreamOf(() => pair.client.table, 'feed', null, {});
        demand.request(2);
        scheduler.schedule(() => demand.request(1), 5);
        expectObservable(demand.values$).toBe('--ab---c');
      });
    });

    it('throws for a request past 2^31 - 1 outstanding, and for n that is not a whole number from 1', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      const demand = demandStreamOf(() => pair.client.table, 'feed', null, {});
      demand.request(2 ** 31 - 1);
      expect(() => demand.request(1)).to.throw(StreamCreditError);
      for (const n of [0, -1, 1.5, NaN]) expect(() => demand.request(n)).to.throw(StreamCreditError);
    });
  });

  describe('cancellation', () => {
    it('unsubscribing cancels the responder one link later', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        const source = cold('a-b-c-d-e|');
        pair.handlers.set('feed', () => source);
        expectObservable(open(pair, 'feed'), '-----!').toBe('--a-b');
        expectSubscriptions(source.subscriptions).toBe('-^----!');
      });
    });

    it('ignores a cancel that crosses the completion, and a cancel for a stream that never existed', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      scheduler.run(({ cold, expectObservable }) => {
        pair.handlers.set('feed', () => cold('a|'));
        expectObservable(open(pair, 'feed'), '--!').toBe('');
        scheduler.schedule(() => pair.deliver(pair.server, { action: 'stream-cancel', data: null, 'packet-created': 0, token: 't', stream: 99 }), 6);
      });
      expect(sentOf(pair.client, 'stream-cancel', 1)).to.have.length(1);
      expect(sentOf(pair.server, 'stream-complete', 1)).to.have.length(1);
      expect(pair.server.sent.filter((packet) => packet.action.includes('error'))).to.deep.equal([]);
      expect(pair.server.reported).to.deep.equal([]);
      expect(pair.client.reported).to.deep.equal([]);
      expect(pair.server.table.size + pair.client.table.size).to.equal(0);
    });

    it('ignores values that cross the cancel', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('feed', () => cold('ab|'));
        expectObservable(open(pair, 'feed'), '--!').toBe('');
      });
    });
  });

  describe('timeouts', () => {
    it('fails with ERR_STREAM_TIMEOUT when the first value is late, and cancels the responder', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        const source = cold('-');
        pair.handlers.set('feed', () => source);
        expectObservable(open(pair, 'feed', null, { firstValueTimeoutMs: 3 })).toBe('---#', undefined, new StreamTimeoutError('first', 3));
        expectSubscriptions(source.subscriptions).toBe('-^--!');
      });
    });

    it('lets a first value that arrives in time through, and then applies the idle timeout between values', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('feed', () => cold('a-b-----c|'));
        expectObservable(open(pair, 'feed', null, { firstValueTimeoutMs: 3, idleTimeoutMs: 4 })).toBe('--a-b---#', undefined, new StreamTimeoutError('idle', 4));
      });
    });

    it('does not time out a stream whose values keep coming', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('feed', () => cold('a--b--c--|'));
        expectObservable(open(pair, 'feed', null, { idleTimeoutMs: 4 })).toBe('--a--b--c--|');
      });
    });
  });

  describe('completion and errors', () => {
    it('delivers the completion after values still waiting for credit', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('feed', () => cold('(ab|)'));
        expectObservable(open(pair, 'feed', null, { prefetch: 1 })).toBe('--a-(b|)');
      });
    });

    it("sends the handler's error at once, as a RemoteError with its code", () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('feed', () => cold('a#', undefined, new Error('boom')));
        expectObservable(open(pair, 'feed')).toBe('--a#', undefined, remote('ERR_HANDLER', 'boom'));
      });
    });

    it('serves a plain value as one value and a completion, and undefined as a completion alone', () => {
      scheduler.run(({ expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        pair.handlers.set('one', () => 42);
        pair.handlers.set('none', () => undefined);
        expectObservable(open(pair, 'one')).toBe('--(x|)', { x: 42 });
        expectObservable(open(pair, 'none')).toBe('--|');
      });
    });

    it('refuses an open with no handler with ERR_NO_HANDLER', () => {
      scheduler.run(({ expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        expectObservable(open(pair, 'missing')).toBe('--#', undefined, remote('ERR_NO_HANDLER', 'no handler for missing'));
      });
    });

    it('ends every open stream with ConnectionClosedError when the connection closes, and refuses new ones', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        const source = cold('a-----');
        pair.handlers.set('feed', () => source);
        const closed = new ConnectionClosedError('gone');
        scheduler.schedule(() => {
          pair.client.table.closeAll(closed);
          pair.server.table.closeAll(closed);
        }, 4);
        expectObservable(open(pair, 'feed')).toBe('--a-#', undefined, closed);
        expectObservable(open(pair, 'feed'), '-----^').toBe('-----#', undefined, closed);
        expectSubscriptions(source.subscriptions).toBe('-^--!');
      });
    });
  });

  describe('limits', () => {
    it('refuses a local open past maxConcurrentStreams with StreamLimitError, sending nothing', () => {
      scheduler.run(({ expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler, { maxConcurrentStreams: 2 }));
        pair.handlers.set('feed', () => NEVER);
        expectObservable(open(pair, 'feed')).toBe('');
        expectObservable(open(pair, 'feed')).toBe('');
        expectObservable(open(pair, 'feed')).toBe('#', undefined, new StreamLimitError(2));
      });
    });

    it("refuses the peer's open past maxConcurrentStreams with stream-error ERR_STREAM_LIMIT", () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { maxConcurrentStreams: 2 }));
      pair.handlers.set('feed', () => NEVER);
      for (const stream of [1, 3, 5]) pair.deliver(pair.server, { action: 'feed', data: null, 'packet-created': 0, token: 't', stream, credit: 1 });
      expect(sentOf(pair.server, 'stream-error').map((packet) => [packet.stream, (packet.data as { code: string }).code])).to.deep.equal([[5, 'ERR_STREAM_LIMIT']]);
      expect(pair.server.table.size).to.equal(2);
    });

    it('refuses an open with an id of the wrong parity, or one in use, with ERR_STREAM_PROTOCOL', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      pair.handlers.set('feed', () => NEVER);
      for (const stream of [2, 1, 1]) pair.deliver(pair.server, { action: 'feed', data: null, 'packet-created': 0, token: 't', stream, credit: 1 });
      expect(pair.server.sent.filter((packet) => packet.action === 'error').map((packet) => (packet.data as { code: string }).code)).to.deep.equal([
        'ERR_STREAM_PROTOCOL',
        'ERR_STREAM_PROTOCOL',
      ]);
      expect(pair.server.table.size).to.equal(1);
    });

    it('refuses a control packet without a stream id, and an open without credit, with ERR_STREAM_PROTOCOL', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler));
      pair.server.table.control({ action: 'stream-credit', data: 1, 'packet-created': 0, token: 't' });
      expect(pair.server.table.accept({ action: 'feed', data: null, 'packet-created': 0, token: 't', stream: 1 })).to.equal(null);
      expect(pair.server.reported.map((error) => error.code)).to.deep.equal(['ERR_STREAM_PROTOCOL', 'ERR_STREAM_PROTOCOL']);
    });
  });

  describe('what a requester sends that ends the stream (raw packets, as a client in another language sends them)', () => {
    const rawOpen = (action: string, credit: number, channel = false) => ({ action, data: null, 'packet-created': 0, token: 't', stream: 1, credit, ...(channel ? { channel: true } : {}) });
    const rawControl = (action: string, data: unknown = null) => ({ action, data, 'packet-created': 0, token: 't', stream: 1 });
    const after = (pair: StreamPair, index: number) => pair.server.sent.slice(index).filter((packet) => packet.stream === 1).map((packet) => packet.action);

    // Failed before: the cancel completed the handler's input first, so a handler that answers when its
    // input ends (a sum, toArray) still sent its value and stream-complete.
    it("a channel's stream-cancel stops the handler and nothing more is sent for the stream", () => {
      const pair = streamPair(scheduler, pairSettings(scheduler), 0);
      pair.handlers.set('collect', (values) => (values as Observable<unknown>).pipe(toArray()));
      pair.deliver(pair.server, rawOpen('collect', 4, true));
      pair.deliver(pair.server, rawControl('stream-next', 'a'));
      const before = pair.server.sent.length;
      pair.deliver(pair.server, rawControl('stream-cancel'));
      expect(after(pair, before)).to.deep.equal([]);
      expect(pair.server.table.size).to.equal(0);
    });

    // Failed before: the error reached the handler's input, its output failed with ERR_HANDLER, and that
    // was sent back.
    it("a channel's stream-error from the requester ends both directions and gets nothing back", () => {
      const pair = streamPair(scheduler, pairSettings(scheduler), 0);
      pair.handlers.set('collect', (values) => (values as Observable<unknown>).pipe(toArray()));
      pair.deliver(pair.server, rawOpen('collect', 4, true));
      const before = pair.server.sent.length;
      pair.deliver(pair.server, rawControl('stream-error', { code: 'CLIENT_FAIL', message: 'gave up' }));
      expect(after(pair, before)).to.deep.equal([]);
      expect(pair.server.table.size).to.equal(0);
    });

    // Failed before: the value was ignored and the stream went on.
    it("a stream-next on a request-stream (the responder granted no credit) ends it with ERR_STREAM_CREDIT", () => {
      const pair = streamPair(scheduler, pairSettings(scheduler), 0);
      let unsubscribed = false;
      pair.handlers.set('feed', () => new Observable(() => () => (unsubscribed = true)));
      pair.deliver(pair.server, rawOpen('feed', 4));
      pair.deliver(pair.server, rawControl('stream-next', 'x'));
      const errors = sentOf(pair.server, 'stream-error', 1);
      expect(errors.map((packet) => (packet.data as { code: string }).code)).to.deep.equal(['ERR_STREAM_CREDIT']);
      expect(pair.server.reported.map((error) => error.code)).to.deep.equal(['ERR_STREAM_CREDIT']);
      expect(unsubscribed).to.equal(true);
      expect(pair.server.table.size).to.equal(0);
    });

    it("a request-stream's stream-complete from the requester is ignored", () => {
      const pair = streamPair(scheduler, pairSettings(scheduler), 0);
      let unsubscribed = false;
      pair.handlers.set('feed', () => new Observable(() => () => (unsubscribed = true)));
      pair.deliver(pair.server, rawOpen('feed', 4));
      pair.deliver(pair.server, rawControl('stream-complete'));
      expect(unsubscribed).to.equal(false);
      expect(pair.server.table.size).to.equal(1);
    });

    // Failed before: with credit for exactly its values, the generator was not pulled again, so its end
    // (and stream-complete, which needs no credit) waited for a grant nobody would send.
    it('completes an AsyncIterable stream when the requester granted exactly its values (one item pulled ahead)', async () => {
      const pair = streamPair(scheduler, pairSettings(scheduler), 0);
      let pulled = 0;
      pair.handlers.set('three', async function* () {
        for (let i = 0; i < 3; i++) {
          pulled++;
          yield i;
        }
      });
      pair.handlers.set('none', async function* () {
        // Nothing to send: completes with no credit at all.
      });
      pair.handlers.set('endless', async function* () {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield i;
        }
      });
      pair.deliver(pair.server, rawOpen('three', 3));
      pair.deliver(pair.server, { ...rawOpen('none', 0), stream: 3 });
      await until(() => sentOf(pair.server, 'stream-complete', 1).length + sentOf(pair.server, 'stream-complete', 3).length === 2, 2_000, 'both completions');
      expect(sentOf(pair.server, 'stream-next', 1).map((packet) => packet.data)).to.deep.equal([0, 1, 2]);
      pulled = 0;
      pair.deliver(pair.server, { ...rawOpen('endless', 2), stream: 5 });
      await until(() => pulled === 3, 2_000, 'the item after the credit');
      // Two values for two credits; the third waits, pulled but not sent, until the next grant.
      await new Promise((resolve) => setImmediate(resolve));
      expect(sentOf(pair.server, 'stream-next', 5)).to.have.length(2);
      expect(pulled).to.equal(3);
    });

    it('pulls an AsyncIterable one item ahead while the socket is full, whatever the credit, and goes on once it drains', async () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { maxStreamBufferedValues: 16 }), 0);
      let pulled = 0;
      pair.handlers.set('endless', async function* () {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield i;
        }
      });
      pair.server.wire.blocked = true;
      pair.deliver(pair.server, rawOpen('endless', 1000));
      await until(() => pulled === 1, 2_000, 'the first item');
      // Let every pull the stream would make run (they chain through promise jobs, not timers).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(pulled, 'items pulled while nothing could be written').to.equal(1);
      expect(sentOf(pair.server, 'stream-next', 1)).to.have.length(0);
      pair.server.wire.drain();
      await until(() => sentOf(pair.server, 'stream-next', 1).length >= 100, 2_000, 'values once the socket drains');
      expect(sentOf(pair.server, 'stream-next', 1).map((packet) => packet.data)).to.deep.equal(Array.from({ length: sentOf(pair.server, 'stream-next', 1).length }, (_v, i) => i));
    });
  });

  describe('channels', () => {
    it('sends the requester values only as the responder grants, and completes each direction on its own', () => {
      const pair = streamPair(scheduler, pairSettings(scheduler, { streamPrefetch: 2 }));
      let events: string[] = [];
      scheduler.run(({ cold, expectSubscriptions }) => {
        const input = cold('(abc|)');
        pair.handlers.set('echo', (values) => values);
        events = record(scheduler, streamOf(() => pair.client.table, 'echo', null, input, {}, 4));
        // open @0, grant of 2 @1, source subscribed @2: a and b go, c waits for the grant that comes back @4.
        expectSubscriptions(input.subscriptions).toBe('--(^!)');
      });
      expect(events).to.deep.equal(['4:a', '4:b', '6:c', '6:|']);
      expect(sentOf(pair.client, 'stream-next', 1).length).to.equal(3);
      expect(sentOf(pair.server, 'stream-credit', 1).map((packet) => packet.data)).to.deep.equal([2, 2]);
    });

    it("ends both directions when the requester's source fails", () => {
      scheduler.run(({ cold, expectObservable }) => {
        const pair = streamPair(scheduler, pairSettings(scheduler));
        let inputError: unknown = null;
        pair.handlers.set('echo', (values) => new Observable((subscriber) => (values as Observable<unknown>).subscribe({ next: (v) => subscriber.next(v), error: (e: unknown) => (inputError = e) })));
        const source = cold('a#', undefined, Object.assign(new Error('bad input'), { code: 'APP_BAD' }));
        expectObservable(streamOf(() => pair.client.table, 'echo', null, source, {}, 4)).toBe('---#', undefined, Object.assign(new Error('bad input'), { code: 'APP_BAD' }));
        scheduler.flush();
        expect(inputError).to.be.instanceOf(RemoteError);
        expect((inputError as RemoteError).remoteCode).to.equal('APP_BAD');
      });
    });
  });
});
