import { expect } from 'chai';
import { NEVER, Observable, of, Subject, throwError, type Subscription } from 'rxjs';
import { Bind } from '../lib/bind.js';
import { HandlerError, NoHandlerError, ReplyError, ReservedActionError, RemoteError, type PnetworkError } from '../lib/errors.js';
import { RESERVED_ACTIONS, type Packet } from '../lib/protocol/packet.js';
import { ActionRouter, type Replier } from '../lib/router.js';
import type { Envelope } from '../lib/types.js';
import { flushMicrotasks } from './helpers/wait.js';

/** A fake connection that records the replies the router sends through it. */
class FakeReplier implements Replier {
  readonly id = '0123456789abcdef';
  readonly remoteAddress = '127.0.0.1:4000';
  readonly replies: Array<{ id: number; data: unknown }> = [];
  readonly errorReplies: Array<{ id: number; code: string; message: string }> = [];
  failWith: Error | null = null;

  sendReply(id: number, data: unknown): Promise<void> {
    this.replies.push({ id, data });
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }

  sendErrorReply(id: number, code: string, message: string): Promise<void> {
    this.errorReplies.push({ id, code, message });
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }
}

const packet = (action: string, data: unknown = null, id?: number): Packet => ({
  action,
  data,
  'packet-created': 1,
  token: 't',
  ...(id !== undefined ? { id } : {}),
});

describe('ActionRouter', () => {
  let router: ActionRouter<FakeReplier>;
  let connection: FakeReplier;
  let errors: PnetworkError[];
  let errorSub: Subscription;

  beforeEach(() => {
    router = new ActionRouter<FakeReplier>();
    connection = new FakeReplier();
    errors = [];
    errorSub = router.error$.subscribe((error) => errors.push(error));
  });

  afterEach(() => {
    errorSub.unsubscribe();
    router.complete();
  });

  describe('#dispatch', () => {
    it('runs only the handler bound to the packet action among 1,000 bound actions', () => {
      const calls = new Map<string, number>();
      for (let i = 0; i < 1000; i++) {
        const action = `action-${i}`;
        router.bind(action, () => void calls.set(action, (calls.get(action) ?? 0) + 1));
      }
      router.dispatch(packet('action-637'), connection);
      router.dispatch(packet('action-637'), connection);
      router.dispatch(packet('action-6370'), connection);
      expect([...calls]).to.deep.equal([['action-637', 2]]);
      expect(router.boundActions().get('action-637')).to.equal(2);
      expect(router.boundActions().get('action-636')).to.equal(0);
    });

    it('looks the action up in a Map, without scanning the other routes', () => {
      for (let i = 0; i < 1000; i++) router.bind(`action-${i}`, () => undefined);
      // Count Map reads made while dispatching: a lookup makes O(1) of them whatever the number of routes.
      const original = Map.prototype.get;
      let reads = 0;
      Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
        reads++;
        return original.call(this, key);
      };
      let iterated = false;
      const originalIterator = Map.prototype[Symbol.iterator];
      Map.prototype[Symbol.iterator] = function (this: Map<unknown, unknown>) {
        iterated = true;
        return originalIterator.call(this);
      };
      try {
        router.dispatch(packet('action-999'), connection);
      } finally {
        Map.prototype.get = original;
        Map.prototype[Symbol.iterator] = originalIterator;
      }
      expect(reads).to.be.within(1, 3);
      expect(iterated).to.equal(false);
    });

    it('passes data, the whole packet and the connection to a function handler', () => {
      const seen: unknown[] = [];
      router.bind('chat', (data, p, c) => void seen.push(data, p, c));
      const chat = packet('chat', { text: 'hi' });
      router.dispatch(chat, connection);
      expect(seen).to.have.length(3);
      expect(seen[0]).to.deep.equal({ text: 'hi' });
      expect(seen[1]).to.equal(chat);
      expect(seen[2]).to.equal(connection);
    });

    it('runs a Bind subclass handler with `this` bound to the instance', () => {
      class TestAction extends Bind<{ a: number; b: number }, number, FakeReplier> {
        readonly seen: Array<{ data: unknown; packet: Packet; connection: FakeReplier }> = [];
        run(data: { a: number; b: number }, p: Packet, c: FakeReplier): number {
          this.seen.push({ data, packet: p, connection: c });
          return data.a + data.b;
        }
      }
      const handler = new TestAction();
      router.bind('sum', handler);
      const sum = packet('sum', { a: 1, b: 2 }, 7);
      router.dispatch(sum, connection);
      expect(handler.seen).to.deep.equal([{ data: { a: 1, b: 2 }, packet: sum, connection }]);
      expect(connection.replies).to.deep.equal([{ id: 7, data: 3 }]);
    });

    it('runs every handler bound to an action, in bind order', () => {
      const order: string[] = [];
      router.bind('chat', () => void order.push('first'));
      router.bind('chat', () => void order.push('second'));
      router.dispatch(packet('chat'), connection);
      expect(order).to.deep.equal(['first', 'second']);
    });

    it('counts the packets each bound action handled in boundActions()', () => {
      router.bind('a', () => undefined);
      router.bind('b', () => undefined);
      router.dispatch(packet('a'), connection);
      router.dispatch(packet('a'), connection);
      router.dispatch(packet('a'), connection);
      router.dispatch(packet('b'), connection);
      router.dispatch(packet('unbound'), connection);
      expect([...router.boundActions()]).to.deep.equal([
        ['a', 3],
        ['b', 1],
      ]);
    });

    it('lists no action that only has action$ subscribers', () => {
      const sub = router.action$('watched').subscribe();
      router.dispatch(packet('watched'), connection);
      expect(router.boundActions().has('watched')).to.equal(false);
      sub.unsubscribe();
    });

    it('emits every packet on packets$ and the packets of one action on action$', () => {
      const all: Array<Envelope<FakeReplier>> = [];
      const chats: Array<Envelope<FakeReplier>> = [];
      const subs = [router.packets$.subscribe((e) => all.push(e)), router.action$('chat').subscribe((e) => chats.push(e))];
      const chat = packet('chat', 1);
      const other = packet('other', 2);
      router.dispatch(chat, connection);
      router.dispatch(other, connection);
      expect(all).to.deep.equal([
        { packet: chat, connection },
        { packet: other, connection },
      ]);
      expect(chats).to.deep.equal([{ packet: chat, connection }]);
      for (const sub of subs) sub.unsubscribe();
    });
  });

  describe('#bind', () => {
    it('returns a binding whose unsubscribe() unbinds the handler, once', () => {
      let calls = 0;
      const binding = router.bind('chat', () => void calls++);
      router.dispatch(packet('chat'), connection);
      expect(binding.closed).to.equal(false);
      binding.unsubscribe();
      expect(binding.closed).to.equal(true);
      router.dispatch(packet('chat'), connection);
      expect(calls).to.equal(1);
      expect(router.boundActions().has('chat')).to.equal(false);
      expect(() => binding.unsubscribe()).not.to.throw();
    });

    it('unbinds only its own handler when the same function is bound twice', () => {
      let calls = 0;
      const handler = (): void => void calls++;
      const first = router.bind('chat', handler);
      router.bind('chat', handler);
      first.unsubscribe();
      router.dispatch(packet('chat'), connection);
      expect(calls).to.equal(1);
    });

    it('lets a handler unbind itself while it runs without skipping the next handler', () => {
      const order: string[] = [];
      const self = router.bind('chat', () => {
        order.push('self');
        self.unsubscribe();
      });
      router.bind('chat', () => void order.push('next'));
      router.dispatch(packet('chat'), connection);
      router.dispatch(packet('chat'), connection);
      expect(order).to.deep.equal(['self', 'next', 'next']);
    });

    for (const reserved of RESERVED_ACTIONS) {
      it(`throws ReservedActionError for the reserved name "${reserved}"`, () => {
        let caught: unknown;
        try {
          router.bind(reserved, () => undefined);
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(ReservedActionError);
        expect(caught).to.include({ code: 'ERR_RESERVED_ACTION', action: reserved });
        expect(router.boundActions().has(reserved)).to.equal(false);
      });
    }
  });

  describe('requests', () => {
    it('answers a request with no handler with an ERR_NO_HANDLER error reply and reports NoHandlerError', () => {
      router.dispatch(packet('missing', null, 4), connection);
      expect(connection.errorReplies).to.have.length(1);
      expect(connection.errorReplies[0]).to.include({ id: 4, code: 'ERR_NO_HANDLER' });
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(NoHandlerError).and.include({ code: 'ERR_NO_HANDLER', action: 'missing' });
    });

    it('answers a request whose handler was unbound with ERR_NO_HANDLER', () => {
      router.bind('gone', () => 1).unsubscribe();
      router.dispatch(packet('gone', null, 5), connection);
      expect(connection.replies).to.deep.equal([]);
      expect(connection.errorReplies[0]).to.include({ id: 5, code: 'ERR_NO_HANDLER' });
    });

    it('sends nothing for a one-way packet with no handler', () => {
      router.dispatch(packet('missing'), connection);
      expect(connection.errorReplies).to.deep.equal([]);
      expect(connection.replies).to.deep.equal([]);
      expect(errors).to.deep.equal([]);
    });

    it('replies with the value a handler returns', () => {
      router.bind('sum', ({ a, b }: { a: number; b: number }) => a + b);
      router.dispatch(packet('sum', { a: 1, b: 2 }, 1), connection);
      expect(connection.replies).to.deep.equal([{ id: 1, data: 3 }]);
    });

    it('replies with null when the handler returns nothing', () => {
      router.bind('fire', () => undefined);
      router.dispatch(packet('fire', null, 1), connection);
      expect(connection.replies).to.deep.equal([{ id: 1, data: null }]);
    });

    it('sends no reply for a one-way packet, whatever the handler returns', async () => {
      router.bind('sum', () => 3);
      router.bind('later', () => Promise.resolve(3));
      router.dispatch(packet('sum'), connection);
      router.dispatch(packet('later'), connection);
      await flushMicrotasks();
      expect(connection.replies).to.deep.equal([]);
    });

    it('replies with the value of a Promise', async () => {
      router.bind('sum', async ({ a, b }: { a: number; b: number }) => a + b);
      router.dispatch(packet('sum', { a: 2, b: 3 }, 2), connection);
      expect(connection.replies).to.deep.equal([]);
      await flushMicrotasks();
      expect(connection.replies).to.deep.equal([{ id: 2, data: 5 }]);
    });

    it('replies with the first value of an Observable', async () => {
      const values = new Subject<number>();
      router.bind('stream', () => values);
      router.dispatch(packet('stream', null, 3), connection);
      values.next(10);
      values.next(11);
      await flushMicrotasks();
      expect(connection.replies).to.deep.equal([{ id: 3, data: 10 }]);
    });

    it('replies with null when the Observable completes empty, and with of()', async () => {
      router.bind('empty', () => of());
      router.bind('one', () => of('x'));
      router.dispatch(packet('empty', null, 1), connection);
      router.dispatch(packet('one', null, 2), connection);
      await flushMicrotasks();
      expect(connection.replies).to.deep.equal([
        { id: 1, data: null },
        { id: 2, data: 'x' },
      ]);
    });

    it('answers with the first bound handler only', () => {
      router.bind('q', () => 'first');
      router.bind('q', () => 'second');
      router.dispatch(packet('q', null, 1), connection);
      expect(connection.replies).to.deep.equal([{ id: 1, data: 'first' }]);
    });

    it('answers once when the answering handler unbinds itself while it runs', () => {
      const once = router.bind('q', () => {
        once.unsubscribe();
        return 'first';
      });
      router.bind('q', () => 'second');
      router.dispatch(packet('q', null, 1), connection);
      expect(connection.replies).to.deep.equal([{ id: 1, data: 'first' }]);
      router.dispatch(packet('q', null, 2), connection);
      expect(connection.replies).to.deep.equal([
        { id: 1, data: 'first' },
        { id: 2, data: 'second' },
      ]);
    });

    it('turns a thrown error without a code into an ERR_HANDLER error reply and reports HandlerError', () => {
      const thrown = new Error('boom');
      router.bind('boom', () => {
        throw thrown;
      });
      router.dispatch(packet('boom', null, 9), connection);
      expect(connection.errorReplies).to.deep.equal([{ id: 9, code: 'ERR_HANDLER', message: 'handler for "boom" failed' }]);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(HandlerError).and.include({ code: 'ERR_HANDLER', action: 'boom' });
      expect(errors[0]!.cause).to.equal(thrown);
    });

    it('sends the code and message of a ReplyError, and of a PnetworkError about the peer\'s own packet', () => {
      router.bind('custom', () => {
        throw new ReplyError('E_FORBIDDEN', 'not allowed');
      });
      router.bind('typed', () => {
        throw new NoHandlerError('elsewhere');
      });
      router.dispatch(packet('custom', null, 1), connection);
      router.dispatch(packet('typed', null, 2), connection);
      expect(connection.errorReplies).to.deep.equal([
        { id: 1, code: 'E_FORBIDDEN', message: 'not allowed' },
        { id: 2, code: 'ERR_NO_HANDLER', message: 'no handler is bound for "elsewhere"' },
      ]);
      expect(errors.map((e) => e.constructor)).to.deep.equal([HandlerError, HandlerError]);
    });

    it('hides every other failure behind ERR_HANDLER and a generic message, keeping the whole error on error$', () => {
      const internal = [
        Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' }),
        Object.assign(new Error('numeric code'), { code: 42 }),
        'plain string',
        new RemoteError('ERR_UPSTREAM', 'upstream secret'),
        new HandlerError('inner', new Error('inner secret')),
      ];
      internal.forEach((thrown, i) =>
        router.bind(`a${i}`, () => {
          throw thrown;
        }),
      );
      internal.forEach((_, i) => router.dispatch(packet(`a${i}`, null, i), connection));
      expect(connection.errorReplies).to.deep.equal(internal.map((_, i) => ({ id: i, code: 'ERR_HANDLER', message: `handler for "a${i}" failed` })));
      expect(errors.map((e) => e.cause)).to.deep.equal(internal);
    });

    it('names the connection on every error it reports', async () => {
      router.bind('boom', () => {
        throw new Error('boom');
      });
      router.dispatch(packet('boom', null, 1), connection);
      router.dispatch(packet('unbound', null, 2), connection);
      connection.failWith = new RemoteError('ERR_X', 'gone');
      router.bind('sum', () => 3);
      router.dispatch(packet('sum', null, 3), connection);
      await flushMicrotasks();
      expect(errors).to.have.length(3);
      for (const error of errors) expect(error).to.include({ connectionId: '0123456789abcdef', remoteAddress: '127.0.0.1:4000' });
    });

    it('turns a rejected Promise and an erroring Observable into error replies', async () => {
      router.bind('rejects', () => Promise.reject(new Error('later')));
      router.bind('errors', () => throwError(() => new ReplyError('E_STREAM', 'stream failed')));
      router.dispatch(packet('rejects', null, 1), connection);
      router.dispatch(packet('errors', null, 2), connection);
      await flushMicrotasks();
      // The Observable fails at once, the Promise a microtask later.
      expect([...connection.errorReplies].sort((a, b) => a.id - b.id)).to.deep.equal([
        { id: 1, code: 'ERR_HANDLER', message: 'handler for "rejects" failed' },
        { id: 2, code: 'E_STREAM', message: 'stream failed' },
      ]);
      expect(errors).to.have.length(2);
      expect(errors.every((e) => e instanceof HandlerError)).to.equal(true);
    });

    it('reports a throwing one-way handler on error$ without replying', () => {
      router.bind('boom', () => {
        throw new Error('boom');
      });
      router.dispatch(packet('boom'), connection);
      expect(connection.errorReplies).to.deep.equal([]);
      expect(errors[0]).to.be.instanceOf(HandlerError);
    });

    it('keeps routing after a handler throws', () => {
      let calls = 0;
      router.bind('boom', () => {
        throw new Error('boom');
      });
      router.bind('ok', () => void calls++);
      router.dispatch(packet('boom'), connection);
      router.dispatch(packet('ok'), connection);
      expect(calls).to.equal(1);
    });

    it('reports a reply that cannot be sent on error$ instead of throwing', async () => {
      router.bind('sum', () => 3);
      connection.failWith = new RemoteError('ERR_X', 'connection went away');
      router.dispatch(packet('sum', null, 1), connection);
      await flushMicrotasks();
      expect(errors).to.have.length(1);
      expect(errors[0]).to.equal(connection.failWith);
    });

    describe('with a connection that counts handlers in flight', () => {
      class HoldingReplier extends FakeReplier {
        readonly cancels = new Set<() => void>();
        held = 0;
        holdHandler(cancel: () => void): () => void {
          this.held++;
          this.cancels.add(cancel);
          return () => {
            if (this.cancels.delete(cancel)) this.held--;
          };
        }
        closeAll(): void {
          for (const cancel of [...this.cancels]) cancel();
          this.cancels.clear();
        }
      }
      let holding: HoldingReplier;
      let holdingRouter: ActionRouter<HoldingReplier>;
      beforeEach(() => {
        holding = new HoldingReplier();
        holdingRouter = new ActionRouter<HoldingReplier>();
      });
      afterEach(() => holdingRouter.complete());

      it('holds a Promise or Observable handler until it settles, and a synchronous one not at all', async () => {
        const later = new Subject<number>();
        let resolve!: (value: number) => void;
        holdingRouter.bind('sync', () => 1);
        holdingRouter.bind('promise', () => new Promise<number>((r) => (resolve = r)));
        holdingRouter.bind('stream', () => later);
        holdingRouter.dispatch(packet('sync', null, 1), holding);
        expect(holding.held).to.equal(0);
        holdingRouter.dispatch(packet('promise', null, 2), holding);
        holdingRouter.dispatch(packet('stream', null, 3), holding);
        expect(holding.held).to.equal(2);
        resolve(2);
        later.next(3);
        await flushMicrotasks();
        expect(holding.held).to.equal(0);
        expect(holding.replies).to.deep.equal([
          { id: 1, data: 1 },
          { id: 3, data: 3 },
          { id: 2, data: 2 },
        ]);
      });

      it('unsubscribes an Observable handler that never completes when its connection closes, and answers nothing', () => {
        let teardowns = 0;
        holdingRouter.bind('forever', () => new Observable<never>(() => () => void teardowns++));
        holdingRouter.dispatch(packet('forever', null, 1), holding);
        holdingRouter.dispatch(packet('forever'), holding);
        expect(teardowns).to.equal(0);
        holding.closeAll();
        expect(teardowns).to.equal(2);
        expect(holding.replies).to.deep.equal([]);
      });

      it('drops the value of a Promise that settles after its connection closed, but still reports its failure', async () => {
        let resolve!: (value: number) => void;
        let reject!: (err: Error) => void;
        const errorsSeen: PnetworkError[] = [];
        const sub = holdingRouter.error$.subscribe((e) => errorsSeen.push(e));
        holdingRouter.bind('ok', () => new Promise<number>((r) => (resolve = r)));
        holdingRouter.bind('bad', () => new Promise<number>((_, r) => (reject = r)));
        holdingRouter.dispatch(packet('ok', null, 1), holding);
        holdingRouter.dispatch(packet('bad', null, 2), holding);
        holding.closeAll();
        resolve(1);
        reject(new Error('late failure'));
        await flushMicrotasks();
        sub.unsubscribe();
        expect(holding.replies).to.deep.equal([]);
        expect(holding.errorReplies).to.deep.equal([]);
        expect(errorsSeen.map((e) => e.constructor)).to.deep.equal([HandlerError]);
      });

      it('does not subscribe at all when the connection cancels at once (it has closed)', () => {
        let subscribed = 0;
        holding.holdHandler = (cancel) => {
          cancel();
          return () => undefined;
        };
        holdingRouter.bind('late', () => new Observable<never>(() => void subscribed++));
        holdingRouter.dispatch(packet('late', null, 1), holding);
        expect(subscribed).to.equal(0);
      });
    });

    it('never answers a request whose Observable never emits', async () => {
      router.bind('never', () => NEVER);
      router.dispatch(packet('never', null, 1), connection);
      await flushMicrotasks();
      expect(connection.replies).to.deep.equal([]);
      expect(connection.errorReplies).to.deep.equal([]);
    });
  });
});
