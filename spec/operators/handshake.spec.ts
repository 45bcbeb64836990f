import { expect } from 'chai';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  HandshakeError,
  HandshakeTimeoutError,
  PacketError,
  RemoteError,
  ReservedActionError,
  TokenMismatchError,
} from '../../lib/errors.js';
import { clientHandshake, serverHandshake, type HandshakeEvent } from '../../lib/operators/handshake.js';
import { PROTOCOL_VERSION } from '../../lib/defaults.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { testScheduler } from '../helpers/scheduler.js';

/** What the handshake operators consume. */
type Input = Packet | PacketError;

const TOKEN = 'token-1';
const TIMEOUT_MS = 1000;

const packet = (action: string, data: unknown, token: string | null, id?: number): Packet => ({
  action,
  data,
  'packet-created': 1,
  token,
  ...(id !== undefined ? { id } : {}),
});

// Client → server.
const hello = packet('handshake', { protocol: PROTOCOL_VERSION }, null);
const chat = packet('chat', { text: 'hi' }, TOKEN);
const spoofed = packet('chat', { text: 'hi' }, 'someone-elses-token');
const anonymous = packet('chat', { text: 'hi' }, null);
const badJson = new PacketError('ERR_PACKET_JSON', 'payload is not valid JSON');

// Server → client.
const welcome = packet('handshake', { token: TOKEN, protocol: PROTOCOL_VERSION, maxFrameBytes: 1024 }, TOKEN);

const H: HandshakeEvent = { type: 'handshake', token: TOKEN, data: { protocol: PROTOCOL_VERSION } };
const P: HandshakeEvent = { type: 'packet', packet: chat };

/** A deterministic token issuer that counts its calls. */
function issuer(): { issueToken: () => string; issued: () => number } {
  let issued = 0;
  return {
    issueToken: () => {
      issued++;
      return issued === 1 ? TOKEN : `token-${issued}`;
    },
    issued: () => issued,
  };
}

/** Wraps a scheduler to see whether the work it was given ever ran and whether it was cancelled. */
function spyScheduler(inner: SchedulerLike): { scheduler: SchedulerLike; fired: () => number; handles: Subscription[] } {
  let fired = 0;
  const handles: Subscription[] = [];
  const scheduler: SchedulerLike = {
    now: () => inner.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
      const handle = inner.schedule<T>(
        function (this: SchedulerAction<T>, s?: T) {
          fired++;
          work.call(this, s);
        },
        delay,
        state,
      );
      handles.push(handle);
      return handle;
    },
  };
  return { scheduler, fired: () => fired, handles };
}

describe('operators/handshake', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = testScheduler();
  });

  const server = (issueToken: () => string = () => TOKEN) => serverHandshake({ timeoutMs: TIMEOUT_MS, issueToken, scheduler });
  const client = () => clientHandshake({ timeoutMs: TIMEOUT_MS, scheduler });

  describe('#serverHandshake', () => {
    it('emits the handshake event, then accepted packets carrying the issued token', () =>
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-h-p-p-|', { h: hello, p: chat });
        expectObservable(source.pipe(server())).toBe('-H-P-P-|', { H, P });
        expectSubscriptions(source.subscriptions).toBe('^------!');
      }));

    it('issues exactly one token per connection, when the handshake arrives', () => {
      const tokens = issuer();
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-h-p-|', { h: hello, p: chat });
        expectObservable(source.pipe(server(tokens.issueToken))).toBe('-H-P-|', { H, P });
      });
      expect(tokens.issued()).to.equal(1);
    });

    it('rejects a packet carrying another token with TokenMismatchError and keeps going', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-h-x-n-p-|', { h: hello, x: spoofed, n: anonymous, p: chat });
        expectObservable(source.pipe(server())).toBe('-H-X-N-P-|', {
          H,
          X: { type: 'rejected', error: new TokenMismatchError('chat'), packet: spoofed },
          N: { type: 'rejected', error: new TokenMismatchError('chat'), packet: anonymous },
          P,
        });
      }));

    it('keeps the token out of the TokenMismatchError and sets its code', () => {
      const events: HandshakeEvent[] = [];
      scheduler.run(({ cold }) => {
        cold('-h-x-|', { h: hello, x: spoofed })
          .pipe(server())
          .subscribe((event) => events.push(event));
      });
      const rejected = events[1];
      expect(rejected?.type).to.equal('rejected');
      const error = rejected?.type === 'rejected' ? rejected.error : undefined;
      expect(error).to.be.instanceOf(TokenMismatchError);
      expect(error).to.include({ code: 'ERR_TOKEN_MISMATCH', action: 'chat' });
      expect(error?.message).not.to.include('someone-elses-token');
      expect(error?.message).not.to.include(TOKEN);
    });

    it('errors with HandshakeError ERR_HANDSHAKE_REQUIRED when the first packet is not a handshake, and unsubscribes', () =>
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('--p-p-|', { p: chat });
        const error = new HandshakeError('the first packet must be {action: "handshake", data: {protocol}, token: null}');
        expectObservable(source.pipe(server())).toBe('--#', undefined, error);
        expectSubscriptions(source.subscriptions).toBe('^-!');
        expect(error.code).to.equal('ERR_HANDSHAKE_REQUIRED');
      }));

    it('requires the handshake to carry a null token and an object as data', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const required = new HandshakeError('the first packet must be {action: "handshake", data: {protocol}, token: null}');
        const withToken = packet('handshake', { protocol: PROTOCOL_VERSION }, 'guessed');
        const arrayData = packet('handshake', [PROTOCOL_VERSION], null);
        const nullData = packet('handshake', null, null);
        expectObservable(cold('-a-|', { a: withToken }).pipe(server())).toBe('-#', undefined, required);
        expectObservable(cold('-a-|', { a: arrayData }).pipe(server())).toBe('-#', undefined, required);
        expectObservable(cold('-a-|', { a: nullData }).pipe(server())).toBe('-#', undefined, required);
      }));

    it('errors with HandshakeError ERR_PROTOCOL_VERSION for protocol 2, and issues no token', () => {
      const tokens = issuer();
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-h-p-|', { h: packet('handshake', { protocol: 2 }, null), p: chat });
        const error = new HandshakeError(`unsupported protocol version 2; this server speaks ${PROTOCOL_VERSION}`, 'ERR_PROTOCOL_VERSION');
        expectObservable(source.pipe(server(tokens.issueToken))).toBe('-#', undefined, error);
        expectSubscriptions(source.subscriptions).toBe('^!');
      });
      expect(tokens.issued()).to.equal(0);
    });

    it('errors with ERR_PROTOCOL_VERSION when the protocol is missing', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-h-|', { h: packet('handshake', {}, null) });
        const error = new HandshakeError(`unsupported protocol version undefined; this server speaks ${PROTOCOL_VERSION}`, 'ERR_PROTOCOL_VERSION');
        expectObservable(source.pipe(server())).toBe('-#', undefined, error);
      }));

    it('errors with HandshakeTimeoutError exactly at timeoutMs when nothing arrives, and unsubscribes the source', () =>
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot<Input>('-');
        expectObservable(source.pipe(server())).toBe(`${TIMEOUT_MS}ms #`, undefined, new HandshakeTimeoutError(TIMEOUT_MS));
        expectSubscriptions(source.subscriptions).toBe(`^ ${TIMEOUT_MS - 1}ms !`);
      }));

    it('times out at timeoutMs even when only a late handshake would follow', () =>
      scheduler.run(({ time, hot, expectObservable, expectSubscriptions }) => {
        const timeoutMs = time('-----|');
        const source = hot('------h-|', { h: hello });
        const operator = serverHandshake({ timeoutMs, issueToken: () => TOKEN, scheduler });
        expectObservable(source.pipe(operator)).toBe('-----#', undefined, new HandshakeTimeoutError(5));
        expectSubscriptions(source.subscriptions).toBe('^----!');
      }));

    it('carries timeoutMs and ERR_HANDSHAKE_TIMEOUT on the timeout error', () => {
      let caught: unknown;
      scheduler.run(({ hot }) => {
        hot<Input>('-').pipe(server()).subscribe({ error: (err: unknown) => (caught = err) });
      });
      expect(caught).to.be.instanceOf(HandshakeTimeoutError);
      expect(caught).to.include({ code: 'ERR_HANDSHAKE_TIMEOUT', timeoutMs: TIMEOUT_MS });
    });

    it('does not time out once the handshake is done', () =>
      scheduler.run(({ hot, expectObservable }) => {
        const source = hot(`-h ${TIMEOUT_MS * 3}ms p-|`, { h: hello, p: chat });
        expectObservable(source.pipe(server())).toBe(`-H ${TIMEOUT_MS * 3}ms P-|`, { H, P });
      }));

    it('errors with ERR_HANDSHAKE_REQUIRED when the first payload is a PacketError', () =>
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-e-h-|', { e: badJson, h: hello });
        const error = new HandshakeError(`the first packet was malformed: ${badJson.message}`);
        expectObservable(source.pipe(server())).toBe('-#', undefined, error);
        expectSubscriptions(source.subscriptions).toBe('^!');
      }));

    it('rejects a PacketError after the handshake and keeps going', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-h-e-p-|', { h: hello, e: badJson, p: chat });
        expectObservable(source.pipe(server())).toBe('-H-E-P-|', { H, E: { type: 'rejected', error: badJson }, P });
      }));

    it('rejects a second handshake with ReservedActionError ERR_RESERVED_ACTION', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const again = packet('handshake', { protocol: PROTOCOL_VERSION }, TOKEN);
        const source = cold('-h-a-p-|', { h: hello, a: again, p: chat });
        const error = new ReservedActionError('handshake');
        expect(error.code).to.equal('ERR_RESERVED_ACTION');
        expectObservable(source.pipe(server())).toBe('-H-A-P-|', { H, A: { type: 'rejected', error, packet: again }, P });
      }));

    it('passes a source error through, before and after the handshake', () =>
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('socket reset');
        const before = cold<Input>('--#', undefined, failure);
        const after = cold('-h-p-#', { h: hello, p: chat }, failure);
        expectObservable(before.pipe(server())).toBe('--#', undefined, failure);
        expectObservable(after.pipe(server())).toBe('-H-P-#', { H, P }, failure);
        expectSubscriptions(after.subscriptions).toBe('^----!');
      }));

    it('completes when the source completes before the handshake', () =>
      scheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold<Input>('--|').pipe(server())).toBe('--|');
      }));

    it('unsubscribes the source and cancels the timer on early unsubscribe', () => {
      const spy = spyScheduler(scheduler);
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot<Input>('-');
        const operator = serverHandshake({ timeoutMs: TIMEOUT_MS, issueToken: () => TOKEN, scheduler: spy.scheduler });
        expectObservable(source.pipe(operator), '--!').toBe('');
        expectSubscriptions(source.subscriptions).toBe('^-!');
      });
      expect(spy.handles).to.have.length(1);
      expect(spy.handles[0]!.closed).to.equal(true);
      expect(spy.fired()).to.equal(0);
    });

    it('cancels the timer as soon as the handshake arrives', () => {
      const spy = spyScheduler(scheduler);
      scheduler.run(({ hot, expectObservable }) => {
        const source = hot(`-h ${TIMEOUT_MS * 2}ms |`, { h: hello });
        const operator = serverHandshake({ timeoutMs: TIMEOUT_MS, issueToken: () => TOKEN, scheduler: spy.scheduler });
        expectObservable(source.pipe(operator)).toBe(`-H ${TIMEOUT_MS * 2}ms |`, { H });
      });
      expect(spy.fired()).to.equal(0);
      expect(spy.handles[0]!.closed).to.equal(true);
    });

    it('gives each subscription its own state and timer', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const operator = server();
        const first = cold('-h-p-|', { h: hello, p: chat });
        const second = cold('--p-|', { p: chat });
        expectObservable(first.pipe(operator)).toBe('-H-P-|', { H, P });
        expectObservable(second.pipe(operator)).toBe(
          '--#',
          undefined,
          new HandshakeError('the first packet must be {action: "handshake", data: {protocol}, token: null}'),
        );
      }));
  });

  describe('#clientHandshake', () => {
    const W: HandshakeEvent = { type: 'handshake', token: TOKEN, data: welcome.data as Record<string, unknown> };

    it('emits the handshake event with the server-issued token, then accepted packets', () =>
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const news = packet('news', 1, TOKEN);
        const source = cold('-w-n-|', { w: welcome, n: news });
        expectObservable(source.pipe(client())).toBe('-W-N-|', { W, N: { type: 'packet', packet: news } });
        expectSubscriptions(source.subscriptions).toBe('^----!');
      }));

    it('errors with RemoteError carrying the code when the first reply is an error packet', () =>
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const refusal = packet('error', { code: 'ERR_PROTOCOL_VERSION', message: 'unsupported protocol version 1' }, null);
        const source = cold('-e-w-|', { e: refusal, w: welcome });
        const error = new RemoteError('ERR_PROTOCOL_VERSION', 'unsupported protocol version 1');
        expectObservable(source.pipe(client())).toBe('-#', undefined, error);
        expectSubscriptions(source.subscriptions).toBe('^!');
      }));

    it('keeps the remote code on the RemoteError', () => {
      let caught: unknown;
      scheduler.run(({ cold }) => {
        cold('-e-|', { e: packet('error', { code: 'ERR_HANDSHAKE_REQUIRED', message: 'no' }, null) })
          .pipe(client())
          .subscribe({ error: (err: unknown) => (caught = err) });
      });
      expect(caught).to.be.instanceOf(RemoteError);
      expect(caught).to.include({ code: 'ERR_REMOTE', remoteCode: 'ERR_HANDSHAKE_REQUIRED', message: 'no' });
    });

    it('errors with HandshakeError when the reply carries no token', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-w-|', { w: packet('handshake', { protocol: PROTOCOL_VERSION }, null) });
        const error = new HandshakeError('the server did not answer with a handshake carrying a token');
        expectObservable(source.pipe(client())).toBe('-#', undefined, error);
      }));

    it('errors with ERR_PROTOCOL_VERSION when the server speaks protocol 2', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-w-|', { w: packet('handshake', { token: TOKEN, protocol: 2 }, TOKEN) });
        const error = new HandshakeError('the server speaks protocol 2', 'ERR_PROTOCOL_VERSION');
        expectObservable(source.pipe(client())).toBe('-#', undefined, error);
      }));

    it('errors with HandshakeTimeoutError exactly at timeoutMs when the server does not answer', () =>
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot<Input>('-');
        expectObservable(source.pipe(client())).toBe(`${TIMEOUT_MS}ms #`, undefined, new HandshakeTimeoutError(TIMEOUT_MS));
        expectSubscriptions(source.subscriptions).toBe(`^ ${TIMEOUT_MS - 1}ms !`);
      }));

    it('rejects a later packet that carries another token', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const stray = packet('news', 1, 'other');
        const source = cold('-w-s-|', { w: welcome, s: stray });
        expectObservable(source.pipe(client())).toBe('-W-S-|', {
          W,
          S: { type: 'rejected', error: new TokenMismatchError('news'), packet: stray },
        });
      }));
  });
});
