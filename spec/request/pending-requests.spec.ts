import { expect } from 'chai';
import type { TestScheduler } from 'rxjs/testing';
import { ConnectionClosedError, RemoteError, RequestTimeoutError } from '../../lib/errors.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { PendingRequests } from '../../lib/request/pending-requests.js';
import { testScheduler } from '../helpers/scheduler.js';
import { flushMicrotasks, track, type Outcome } from '../helpers/wait.js';

const reply = (id: number | undefined, data: unknown): Packet => ({
  action: 'reply',
  data,
  'packet-created': 1,
  token: 't',
  ...(id !== undefined ? { id } : {}),
});
const errorReply = (id: number, data: unknown): Packet => ({ action: 'error', data, 'packet-created': 1, token: 't', id });

describe('request/PendingRequests', () => {
  let scheduler: TestScheduler;
  let pending: PendingRequests;
  beforeEach(() => {
    scheduler = testScheduler();
    pending = new PendingRequests(scheduler);
  });

  describe('#open', () => {
    it('gives each request a new id and counts the waiting ones', () => {
      const a = pending.open('a', 100);
      const b = pending.open('b', 100);
      track(a.reply);
      track(b.reply);
      expect(b.id).to.be.greaterThan(a.id);
      expect(a.id).to.be.a('number');
      expect(pending.size).to.equal(2);
      pending.rejectAll(new ConnectionClosedError());
    });

    it('rejects with RequestTimeoutError exactly at timeoutMs, in virtual time', async () => {
      let outcome!: Outcome<unknown>;
      const sizes: Record<string, number> = {};
      scheduler.run(({ flush }) => {
        outcome = track(pending.open('sum', 100).reply);
        scheduler.schedule(() => (sizes.at99 = pending.size), 99);
        scheduler.schedule(() => (sizes.at101 = pending.size), 101);
        flush();
      });
      await flushMicrotasks();
      expect(sizes).to.deep.equal({ at99: 1, at101: 0 });
      expect(outcome.state).to.equal('rejected');
      expect(outcome.error).to.be.instanceOf(RequestTimeoutError);
      expect(outcome.error).to.include({ code: 'ERR_REQUEST_TIMEOUT', action: 'sum', timeoutMs: 100 });
    });

    it('is still pending one frame before the timeout', async () => {
      let outcome!: Outcome<unknown>;
      scheduler.run(({ flush }) => {
        outcome = track(pending.open('sum', 100).reply);
        scheduler.maxFrames = 99;
        flush();
      });
      await flushMicrotasks();
      expect(outcome.state).to.equal('pending');
      expect(pending.size).to.equal(1);
      pending.rejectAll(new ConnectionClosedError());
    });

    it('times each request out on its own', async () => {
      const outcomes: Array<Outcome<unknown>> = [];
      let late!: number;
      scheduler.run(({ flush }) => {
        outcomes.push(track(pending.open('short', 10).reply));
        const second = pending.open('long', 50);
        late = second.id;
        outcomes.push(track(second.reply));
        scheduler.schedule(() => expect(pending.settle(reply(late, 'ok'))).to.equal(true), 30);
        flush();
      });
      await flushMicrotasks();
      expect(outcomes[0]!.error).to.be.instanceOf(RequestTimeoutError).and.include({ action: 'short', timeoutMs: 10 });
      expect(outcomes[1]).to.deep.equal({ state: 'fulfilled', value: 'ok' });
    });
  });

  describe('#settle', () => {
    it('resolves the request with the reply data by id, and its timeout never fires', async () => {
      let outcome!: Outcome<unknown>;
      let settled!: boolean;
      let timersLeft = -1;
      let timersAfter = -1;
      scheduler.run(({ flush }) => {
        const { id, reply: promise } = pending.open('sum', 100);
        outcome = track(promise);
        scheduler.schedule(() => {
          settled = pending.settle(reply(id, 3));
          // At most the one shared sweep is left; it finds nothing due at 100 and stops.
          timersLeft = scheduler.actions.length;
        }, 50);
        flush();
        timersAfter = scheduler.actions.length;
      });
      await flushMicrotasks();
      expect(settled).to.equal(true);
      expect(timersLeft).to.be.at.most(1);
      expect(timersAfter).to.equal(0);
      expect(outcome).to.deep.equal({ state: 'fulfilled', value: 3 });
      expect(pending.size).to.equal(0);
    });

    it('serves many waiting requests with one scheduled sweep', () => {
      scheduler.run(() => {
        for (let i = 0; i < 64; i++) pending.open(`r${i}`, 100 + i).reply.catch(() => undefined);
        expect(scheduler.actions).to.have.length(1);
        pending.rejectAll(new Error('done'));
        expect(scheduler.actions).to.have.length(0);
      });
    });

    it('settles only the request whose id matches', async () => {
      const a = pending.open('a', 100);
      const b = pending.open('b', 100);
      const outA = track(a.reply);
      const outB = track(b.reply);
      expect(pending.settle(reply(b.id, 'for b'))).to.equal(true);
      await flushMicrotasks();
      expect(outA.state).to.equal('pending');
      expect(outB).to.deep.equal({ state: 'fulfilled', value: 'for b' });
      expect(pending.size).to.equal(1);
      pending.rejectAll(new ConnectionClosedError());
    });

    it('rejects with RemoteError carrying remoteCode and message for an error reply', async () => {
      const { id, reply: promise } = pending.open('sum', 100);
      const outcome = track(promise);
      expect(pending.settle(errorReply(id, { code: 'ERR_NO_HANDLER', message: 'no handler is bound for "sum"' }))).to.equal(true);
      await flushMicrotasks();
      expect(outcome.error).to.be.instanceOf(RemoteError);
      expect(outcome.error).to.include({ code: 'ERR_REMOTE', remoteCode: 'ERR_NO_HANDLER', message: 'no handler is bound for "sum"' });
    });

    it('uses ERR_REMOTE as remoteCode for an error reply without data', async () => {
      const { id, reply: promise } = pending.open('sum', 100);
      const outcome = track(promise);
      pending.settle(errorReply(id, null));
      await flushMicrotasks();
      expect(outcome.error).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_REMOTE' });
    });

    it('returns false for an unknown id, a packet without id, and an id already settled', () => {
      const { id, reply: promise } = pending.open('sum', 100);
      track(promise);
      expect(pending.settle(reply(id + 1000, 1))).to.equal(false);
      expect(pending.settle(reply(undefined, 1))).to.equal(false);
      expect(pending.size).to.equal(1);
      expect(pending.settle(reply(id, 1))).to.equal(true);
      expect(pending.settle(reply(id, 1))).to.equal(false);
    });

    it('returns false for a reply that arrives after the timeout', async () => {
      let outcome!: Outcome<unknown>;
      let late!: boolean;
      scheduler.run(({ flush }) => {
        const { id, reply: promise } = pending.open('sum', 10);
        outcome = track(promise);
        scheduler.schedule(() => (late = pending.settle(reply(id, 3))), 20);
        flush();
      });
      await flushMicrotasks();
      expect(late).to.equal(false);
      expect(outcome.error).to.be.instanceOf(RequestTimeoutError);
    });
  });

  describe('#fail', () => {
    it('rejects one request with the given error and leaves the others', async () => {
      const a = pending.open('a', 100);
      const b = pending.open('b', 100);
      const outA = track(a.reply);
      const outB = track(b.reply);
      const error = new Error('write failed');
      pending.fail(a.id, error);
      await flushMicrotasks();
      expect(outA).to.deep.equal({ state: 'rejected', error });
      expect(outB.state).to.equal('pending');
      expect(pending.size).to.equal(1);
      pending.rejectAll(new ConnectionClosedError());
    });

    it('ignores an unknown id', () => {
      const a = pending.open('a', 100);
      track(a.reply);
      expect(() => pending.fail(a.id + 1, new Error('x'))).not.to.throw();
      expect(pending.size).to.equal(1);
      pending.rejectAll(new ConnectionClosedError());
    });

    it('never times a failed request out later', async () => {
      let outcome!: Outcome<unknown>;
      let timersAfter = -1;
      const error = new Error('write failed');
      scheduler.run(({ flush }) => {
        const { id, reply: promise } = pending.open('a', 100);
        outcome = track(promise);
        pending.fail(id, error);
        flush();
        timersAfter = scheduler.actions.length;
      });
      await flushMicrotasks();
      expect(outcome.error).to.equal(error);
      expect(timersAfter).to.equal(0);
    });
  });

  describe('#rejectAll', () => {
    it('rejects every waiting request with the error, empties the table and stops every timer', async () => {
      let outcomes: Array<Outcome<unknown>> = [];
      const error = new ConnectionClosedError('server stopping');
      let timersLeft = -1;
      scheduler.run(({ flush }) => {
        outcomes = [pending.open('a', 10), pending.open('b', 20), pending.open('c', 30)].map((r) => track(r.reply));
        scheduler.schedule(() => {
          pending.rejectAll(error);
          timersLeft = scheduler.actions.length;
        }, 5);
        flush();
      });
      await flushMicrotasks();
      expect(pending.size).to.equal(0);
      expect(timersLeft).to.equal(0);
      for (const outcome of outcomes) expect(outcome).to.deep.equal({ state: 'rejected', error });
    });

    it('does nothing when no request waits', () => {
      expect(() => pending.rejectAll(new ConnectionClosedError())).not.to.throw();
      expect(pending.size).to.equal(0);
    });
  });
});
