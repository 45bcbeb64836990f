import { expect } from 'chai';
import { EMPTY, type Observable } from 'rxjs';
import { PROTOCOL_VERSION } from '../../lib/defaults.js';
import { MiddlewareTimeoutError, TokenMismatchError, UnauthorizedError } from '../../lib/errors.js';
import { runMiddleware } from '../../lib/middleware/run-middleware.js';
import { serverHandshake, type HandshakeDone } from '../../lib/operators/handshake.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { testScheduler } from '../helpers/scheduler.js';

const TOKEN = 'token-1';
const packet = (action: string, data: unknown, token: string | null): Packet => ({ action, data, 'packet-created': 1, token });
const hello = packet('handshake', { protocol: PROTOCOL_VERSION, auth: { user: 'ann' } }, null);
const early = packet('chat', { text: 'too soon' }, null);
const chat = packet('chat', { text: 'hi' }, TOKEN);

describe('operators/serverHandshake with admit (middleware)', () => {
  it('holds the handshake until admit completes, then emits it; earlier packets are refused', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      const seen: HandshakeDone[] = [];
      const admit = (done: HandshakeDone): Observable<unknown> => {
        seen.push(done);
        return cold('---|');
      };
      const input = hot('-h-e--c|', { h: hello, e: early, c: chat });
      const output = input.pipe(serverHandshake({ timeoutMs: 10, scheduler, issueToken: () => TOKEN, admit }));
      expectObservable(output).toBe('---rH-p|', {
        r: { type: 'rejected', error: new TokenMismatchError('chat'), packet: early },
        H: { type: 'handshake', token: TOKEN, data: hello.data },
        p: { type: 'packet', packet: chat },
      });
      scheduler.flush();
      expect(seen.map((done) => done.data.auth)).to.deep.equal([{ user: 'ann' }]);
    });
  });

  it('errors with the refusal and emits no handshake (so no token is ever used) when admit errors', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      const refusal = new UnauthorizedError();
      const input = hot('-h----', { h: hello });
      const output = input.pipe(serverHandshake({ timeoutMs: 10, scheduler, issueToken: () => TOKEN, admit: () => cold('--#', undefined, refusal) }));
      expectObservable(output).toBe('---#', undefined, refusal);
    });
  });

  it('gives middleware the handshake timeout, counted from the handshake, in virtual time', () => {
    const scheduler = testScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const input = hot('--h------', { h: hello });
      const stuck = (): Observable<unknown> => runMiddleware([() => new Promise<void>(() => undefined)], {}, undefined, { timeoutMs: 4, scheduler });
      const output = input.pipe(serverHandshake({ timeoutMs: 100, scheduler, issueToken: () => TOKEN, admit: stuck }));
      expectObservable(output).toBe('------#', undefined, new MiddlewareTimeoutError(4));
    });
  });

  it('accepts at once when admit returns null or completes synchronously', () => {
    const scheduler = testScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const input = hot('-h-c-|', { h: hello, c: chat });
      const handshake = { type: 'handshake', token: TOKEN, data: hello.data };
      expectObservable(input.pipe(serverHandshake({ timeoutMs: 10, scheduler, issueToken: () => TOKEN, admit: () => null }))).toBe('-H-p-|', {
        H: handshake,
        p: { type: 'packet', packet: chat },
      });
      expectObservable(input.pipe(serverHandshake({ timeoutMs: 10, scheduler, issueToken: () => TOKEN, admit: () => EMPTY }))).toBe('-H-p-|', {
        H: handshake,
        p: { type: 'packet', packet: chat },
      });
    });
  });

  it('stops waiting for admit when the peer goes away', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const deciding = cold('-----|');
      const input = hot('-h-|', { h: hello });
      expectObservable(input.pipe(serverHandshake({ timeoutMs: 10, scheduler, issueToken: () => TOKEN, admit: () => deciding }))).toBe('---|');
      expectSubscriptions(deciding.subscriptions).toBe('-^-!');
    });
  });
});
