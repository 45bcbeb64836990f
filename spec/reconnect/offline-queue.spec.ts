import { expect } from 'chai';
import sinon from 'sinon';
import type { TestScheduler } from 'rxjs/testing';
import { ConnectionClosedError, PacketExpiredError, QueueFullError } from '../../lib/errors.js';
import { OfflineQueue } from '../../lib/reconnect/offline-queue.js';
import { testScheduler } from '../helpers/scheduler.js';

/** A promise's fate, readable synchronously once microtasks have run. */
interface Tracked {
  state: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
}

function track(promise: Promise<void>): Tracked {
  const tracked: Tracked = { state: 'pending' };
  promise.then(
    () => {
      tracked.state = 'resolved';
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** Lets every queued microtask (promise reaction) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A send whose calls are recorded and settled by hand. */
function manualSend() {
  const calls: { item: string; done: Deferred }[] = [];
  const send = (item: string) => {
    const done = deferred();
    calls.push({ item, done });
    return done.promise;
  };
  return { calls, send };
}

describe('OfflineQueue', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = testScheduler();
  });

  const queue = (limit = 10, ttlMs = Number.POSITIVE_INFINITY) => new OfflineQueue<string>({ limit, ttlMs, scheduler });

  /** Runs the virtual clock up to frame `t` (inclusive) and stops there, leaving later timers pending. */
  const advanceTo = (t: number) => {
    scheduler.schedule(() => undefined, t - scheduler.now());
    scheduler.maxFrames = t;
    scheduler.flush();
  };

  describe('#flush', () => {
    it('sends items in FIFO order and resolves each enqueue promise', async () => {
      const q = queue();
      const results = ['a', 'b', 'c'].map((item) => track(q.enqueue(item, item)));
      expect(q.size).to.equal(3);
      const sent: string[] = [];
      await q.flush(async (item) => {
        sent.push(item);
      });
      await settle();
      expect(sent).to.deep.equal(['a', 'b', 'c']);
      expect(results.map((r) => r.state)).to.deep.equal(['resolved', 'resolved', 'resolved']);
      expect(q.size).to.equal(0);
    });

    it('sends one item at a time, each after the previous send resolved', async () => {
      const q = queue();
      const a = track(q.enqueue('a', 'a'));
      const b = track(q.enqueue('b', 'b'));
      const { calls, send } = manualSend();
      const flushed = track(q.flush(send));
      await settle();
      expect(calls.map((c) => c.item)).to.deep.equal(['a']);
      expect(q.size, 'in-flight item has left the queue').to.equal(1);
      expect([a.state, b.state]).to.deep.equal(['pending', 'pending']);

      calls[0]!.done.resolve();
      await settle();
      expect(calls.map((c) => c.item)).to.deep.equal(['a', 'b']);
      expect([a.state, b.state, flushed.state]).to.deep.equal(['resolved', 'pending', 'pending']);

      calls[1]!.done.resolve();
      await settle();
      expect([a.state, b.state, flushed.state]).to.deep.equal(['resolved', 'resolved', 'resolved']);
    });

    it('appends items enqueued while flushing and sends them in order in the same flush', async () => {
      const q = queue();
      const first = track(q.enqueue('a', 'a'));
      const { calls, send } = manualSend();
      const flushed = track(q.flush(send));
      await settle();
      const later = [track(q.enqueue('b', 'b')), track(q.enqueue('c', 'c'))];
      calls[0]!.done.resolve();
      await settle();
      calls[1]!.done.resolve();
      await settle();
      calls[2]!.done.resolve();
      await settle();
      expect(calls.map((c) => c.item)).to.deep.equal(['a', 'b', 'c']);
      expect([first, ...later, flushed].map((r) => r.state)).to.deep.equal(['resolved', 'resolved', 'resolved', 'resolved']);
    });

    it('on a failed send: rejects that item, stops, keeps the rest queued in order, and rejects the flush', async () => {
      const q = queue();
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((item) => track(q.enqueue(item, item)));
      const failure = new Error('socket closed');
      const sent: string[] = [];
      const flushed = track(
        q.flush(async (item) => {
          sent.push(item);
          if (item === 'b') throw failure;
        }),
      );
      await settle();
      expect(sent).to.deep.equal(['a', 'b']);
      expect([a!.state, b!.state, c!.state, d!.state]).to.deep.equal(['resolved', 'rejected', 'pending', 'pending']);
      expect(b!.error).to.equal(failure);
      expect(flushed).to.deep.equal({ state: 'rejected', error: failure });
      expect(q.size).to.equal(2);
      expect(q.flushing).to.equal(false);

      // A later flush resumes with the next item; the failed one is not retried.
      await q.flush(async (item) => {
        sent.push(item);
      });
      await settle();
      expect(sent).to.deep.equal(['a', 'b', 'c', 'd']);
      expect([c!.state, d!.state]).to.deep.equal(['resolved', 'resolved']);
    });

    it('treats a send that throws synchronously like a rejected send', async () => {
      const q = queue();
      const a = track(q.enqueue('a', 'a'));
      const b = track(q.enqueue('b', 'b'));
      const failure = new Error('not writable');
      const flushed = track(
        q.flush(() => {
          throw failure;
        }),
      );
      await settle();
      expect(a).to.deep.equal({ state: 'rejected', error: failure });
      expect(flushed).to.deep.equal({ state: 'rejected', error: failure });
      expect(b.state).to.equal('pending');
      expect(q.size).to.equal(1);
      q.clear();
    });

    it('returns the running flush to a second caller and never sends two items at once', async () => {
      const q = queue();
      const a = track(q.enqueue('a', 'a'));
      const { calls, send } = manualSend();
      const first = q.flush(send);
      const otherSend = sinon.spy(async () => undefined);
      const second = q.flush(otherSend);
      expect(second).to.equal(first);
      expect(q.flushing).to.equal(true);
      await settle();
      expect(calls).to.have.length(1);
      calls[0]!.done.resolve();
      await first;
      await settle();
      expect(a.state).to.equal('resolved');
      expect(otherSend.called).to.equal(false);
      expect(q.flushing).to.equal(false);
    });

    // Failed before: the flushing flag was cleared a microtask after the last item resolved, so a caller
    // reacting to that item saw a busy queue, queued behind it, and its item was never sent.
    it('is idle by the time the last item resolves, so a sender reacting to it is not stranded', async () => {
      const q = queue();
      const sent: string[] = [];
      const send = async (item: string) => {
        sent.push(item);
      };
      // What Client.sendPacket does: queue while the queue is busy, send directly otherwise.
      const sendOrQueue = (item: string): Promise<void> => (q.flushing || q.size > 0 ? q.enqueue(item, item) : send(item));
      const a = q.enqueue('a', 'a');
      const b = a.then(() => sendOrQueue('b'));
      await q.flush(send);
      await b;
      expect(sent).to.deep.equal(['a', 'b']);
      expect(q.size).to.equal(0);
      expect(q.flushing).to.equal(false);
    });

    it('sends, in the same run, an item queued by a reaction to an item that is not the last', async () => {
      const q = queue();
      const sent: string[] = [];
      const a = q.enqueue('a', 'a');
      q.enqueue('b', 'b').catch(() => undefined);
      const c = a.then(() => (q.flushing ? q.enqueue('c', 'c') : Promise.reject(new Error('queue went idle early'))));
      await q.flush(async (item) => {
        sent.push(item);
        await settle();
      });
      await c;
      expect(sent).to.deep.equal(['a', 'b', 'c']);
    });

    it('resolves at once for an empty queue', async () => {
      const send = sinon.spy(async () => undefined);
      await queue().flush(send);
      expect(send.called).to.equal(false);
    });
  });

  describe('#enqueue limit', () => {
    it('rejects with QueueFullError(limit) at once when full, without queueing the item', async () => {
      const q = queue(2);
      const kept = [track(q.enqueue('a', 'a')), track(q.enqueue('b', 'b'))];
      const overflow = track(q.enqueue('c', 'c'));
      await settle();
      expect(overflow.state).to.equal('rejected');
      expect(overflow.error).to.be.instanceOf(QueueFullError);
      expect(overflow.error).to.include({ code: 'ERR_QUEUE_FULL', limit: 2 });
      expect(q.size).to.equal(2);
      expect(kept.map((r) => r.state)).to.deep.equal(['pending', 'pending']);

      const sent: string[] = [];
      await q.flush(async (item) => {
        sent.push(item);
      });
      expect(sent).to.deep.equal(['a', 'b']);
      // Room again once flushed.
      const again = track(q.enqueue('d', 'd'));
      await settle();
      expect(again.state).to.equal('pending');
      expect(q.size).to.equal(1);
      q.clear();
    });

    it('refuses every item with limit 0', async () => {
      const q = queue(0);
      const refused = track(q.enqueue('a', 'a'));
      await settle();
      expect(refused.error).to.be.instanceOf(QueueFullError);
      expect(q.size).to.equal(0);
    });
  });

  describe('TTL', () => {
    it('expires an item exactly ttlMs after it was enqueued, removes it, and rejects PacketExpiredError', async () => {
      const q = queue(10, 100);
      let a!: Tracked;
      let b!: Tracked;
      const sizes: Record<number, number> = {};
      const sizeAt = (t: number) => scheduler.schedule(() => (sizes[t] = q.size), t - scheduler.now());
      scheduler.run(() => {
        a = track(q.enqueue('a', 'chat'));
        [99, 100].forEach(sizeAt);
        scheduler.schedule(() => {
          b = track(q.enqueue('b', 'move'));
          [129, 130].forEach(sizeAt);
        }, 30);
      });
      expect(sizes).to.deep.equal({ 99: 2, 100: 1, 129: 1, 130: 0 });
      await settle();
      expect(a.state).to.equal('rejected');
      expect(a.error).to.be.instanceOf(PacketExpiredError);
      expect(a.error).to.include({ code: 'ERR_PACKET_EXPIRED', action: 'chat', ttlMs: 100 });
      expect(b.error).to.be.instanceOf(PacketExpiredError);
      expect(b.error).to.include({ action: 'move', ttlMs: 100 });
    });

    // Sends settle on microtasks, which never run inside one scheduler.run()/flush(): these tests step
    // virtual time with advanceTo() and await in between.
    it('expires only the item that outlived its TTL; flush sends the rest in order', async () => {
      const q = queue(10, 100);
      const a = track(q.enqueue('a', 'a'));
      advanceTo(50);
      const b = track(q.enqueue('b', 'b'));
      advanceTo(60);
      const c = track(q.enqueue('c', 'c'));
      advanceTo(120);
      expect(q.size).to.equal(2);
      const sent: string[] = [];
      await q.flush(async (item) => {
        sent.push(item);
      });
      await settle();
      expect(sent).to.deep.equal(['b', 'c']);
      expect([a.state, b.state, c.state]).to.deep.equal(['rejected', 'resolved', 'resolved']);
      expect(scheduler.actions, 'pending timers').to.have.length(0);
    });

    it('stops the TTL of an item once its send starts', async () => {
      const q = queue(10, 100);
      const { calls, send } = manualSend();
      let a!: Tracked;
      let flushed!: Tracked;
      scheduler.run(() => {
        a = track(q.enqueue('a', 'a'));
        scheduler.schedule(() => {
          flushed = track(q.flush(send));
          expect(calls, 'send starts synchronously').to.have.length(1);
          expect(scheduler.actions, 'pending timers').to.have.length(0);
        }, 50);
      });
      expect(scheduler.now()).to.equal(50);
      calls[0]!.done.resolve();
      await settle();
      expect(a.state).to.equal('resolved');
      expect(flushed.state).to.equal('resolved');
    });

    it('keeps the remaining items\' TTLs running after a failed send', async () => {
      const q = queue(10, 100);
      const a = track(q.enqueue('a', 'a'));
      const b = track(q.enqueue('b', 'b'));
      advanceTo(10);
      const flushed = track(q.flush(() => Promise.reject(new Error('down'))));
      await settle();
      expect(flushed.state).to.equal('rejected');
      expect([a.state, b.state]).to.deep.equal(['rejected', 'pending']);
      advanceTo(99);
      expect(q.size).to.equal(1);
      advanceTo(100);
      expect(q.size).to.equal(0);
      await settle();
      expect(b.error).to.be.instanceOf(PacketExpiredError);
    });

    it('schedules no timer when ttlMs is Infinity', () => {
      const q = queue(10, Number.POSITIVE_INFINITY);
      void q.enqueue('a', 'a').catch(() => undefined);
      expect(scheduler.actions).to.have.length(0);
      q.clear();
    });

    it('uses asyncScheduler by default', async () => {
      const clock = sinon.useFakeTimers();
      try {
        const q = new OfflineQueue<string>({ limit: 10, ttlMs: 100 });
        const a = track(q.enqueue('a', 'a'));
        clock.tick(99);
        expect(q.size).to.equal(1);
        clock.tick(1);
        expect(q.size).to.equal(0);
        await Promise.resolve();
        await Promise.resolve();
        expect(a.error).to.be.instanceOf(PacketExpiredError);
      } finally {
        clock.restore();
      }
    });
  });

  describe('per-item TTL', () => {
    it('expires an item after its own shorter ttlMs with the error it names', async () => {
      const q = queue(10, 100);
      const a = track(q.enqueue('a', 'a', { ttlMs: 30, expired: () => new Error('a timed out') }));
      const b = track(q.enqueue('b', 'b', { ttlMs: 500 }));
      advanceTo(30);
      await settle();
      expect(a.state).to.equal('rejected');
      expect((a.error as Error).message).to.equal('a timed out');
      expect(b.state).to.equal('pending');
      advanceTo(100);
      await settle();
      // The queue's own TTL is shorter than b's: the queue's wins, with PacketExpiredError.
      expect(b.error).to.be.instanceOf(PacketExpiredError);
    });
  });

  describe('#rejectAll / #clear', () => {
    it('rejectAll rejects every queued item with the error, empties the queue and stops the TTLs', async () => {
      const q = queue(10, 100);
      const results = ['a', 'b'].map((item) => track(q.enqueue(item, item)));
      expect(scheduler.actions).to.have.length(2);
      const closed = new ConnectionClosedError('client stopped');
      q.rejectAll(closed);
      expect(q.size).to.equal(0);
      expect(scheduler.actions, 'pending timers').to.have.length(0);
      await settle();
      expect(results).to.deep.equal([
        { state: 'rejected', error: closed },
        { state: 'rejected', error: closed },
      ]);
    });

    it('rejectAll leaves an item in flight alone and ends the running flush after it', async () => {
      const q = queue();
      const a = track(q.enqueue('a', 'a'));
      const b = track(q.enqueue('b', 'b'));
      const { calls, send } = manualSend();
      const flushed = track(q.flush(send));
      await settle();
      q.rejectAll(new Error('gone'));
      calls[0]!.done.resolve();
      await settle();
      expect(calls).to.have.length(1);
      expect([a.state, b.state, flushed.state]).to.deep.equal(['resolved', 'rejected', 'resolved']);
    });

    it('clear rejects every queued item with ConnectionClosedError', async () => {
      const q = queue();
      const a = track(q.enqueue('a', 'a'));
      q.clear();
      expect(q.size).to.equal(0);
      await settle();
      expect(a.error).to.be.instanceOf(ConnectionClosedError);
      expect(a.error).to.include({ code: 'ERR_CONNECTION_CLOSED', reason: 'offline queue cleared' });
    });
  });

  it('rejects an invalid limit or ttlMs', () => {
    for (const [limit, ttlMs] of [
      [-1, 100],
      [1.5, 100],
      [Number.NaN, 100],
      [Number.POSITIVE_INFINITY, 100],
      [1, 0],
      [1, -5],
      [1, Number.NaN],
    ] as const) {
      expect(() => new OfflineQueue({ limit, ttlMs }), `${limit}/${ttlMs}`).to.throw(RangeError);
    }
  });
});
