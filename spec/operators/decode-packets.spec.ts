import { expect } from 'chai';
import { from, Observable, take } from 'rxjs';
import { PacketError } from '../../lib/errors.js';
import { decodePackets, decodePacketsOrErrors } from '../../lib/operators/decode-packets.js';
import { jsonCodec, type Codec } from '../../lib/protocol/codec.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { testScheduler } from '../helpers/scheduler.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

const CHAT: Packet = { action: 'chat', data: { text: 'hi' }, 'packet-created': 1, token: null };
const PING: Packet = { action: 'ping', data: null, 'packet-created': 2, token: 'tok', id: 4 };
const payload = (packet: Packet): Uint8Array => utf8(JSON.stringify(packet));

/** A synchronous source of `count` copies of `value` that counts how many it produced. */
function countingSource<T>(value: T, count: number): { source: Observable<T>; pulled: () => number } {
  let pulled = 0;
  const source = new Observable<T>((subscriber) => {
    for (let i = 0; i < count && !subscriber.closed; i++) {
      pulled++;
      subscriber.next(value);
    }
    subscriber.complete();
  });
  return { source, pulled: () => pulled };
}

describe('operators/decodePackets', () => {
  describe('#decodePackets', () => {
    it('decodes each payload into a validated packet with the JSON codec by default', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b-|', { a: payload(CHAT), b: payload(PING) });
        expectObservable(source.pipe(decodePackets())).toBe('-A--B-|', { A: CHAT, B: PING });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('decodes with the codec it is given', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const codec: Codec = {
          name: 'length',
          encode: () => new Uint8Array(0),
          decode: (bytes) => ({ action: 'len', data: bytes.length, 'packet-created': 0, token: null }),
        };
        const expected = { action: 'len', 'packet-created': 0, token: null };
        expectObservable(cold('-a-b-|', { a: utf8('abc'), b: utf8('') }).pipe(decodePackets(codec))).toBe('-x-y-|', {
          x: { ...expected, data: 3 },
          y: { ...expected, data: 0 },
        });
      });
    });

    it('passes a source error through', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('frames failed');
        const source = cold('-a-#', { a: payload(CHAT) }, failure);
        expectObservable(source.pipe(decodePackets())).toBe('-A-#', { A: CHAT }, failure);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('errors with the PacketError and unsubscribes the source on a malformed payload', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c-|', { a: payload(CHAT), b: utf8('{"action":'), c: payload(PING) });
        expectObservable(source.pipe(decodePackets())).toBe(
          '-A-#',
          { A: CHAT },
          new PacketError('ERR_PACKET_JSON', 'payload is not valid JSON'),
        );
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('errors with ERR_PACKET_UTF8 on invalid UTF-8', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-|', { a: new Uint8Array([0x7b, 0xff, 0x7d]) });
        expectObservable(source.pipe(decodePackets())).toBe(
          '-#',
          {},
          new PacketError('ERR_PACKET_UTF8', 'payload is not valid UTF-8'),
        );
        expectSubscriptions(source.subscriptions).toBe('^!');
      });
    });

    it('errors with the validator code from a configured codec', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-|', { a: payload(CHAT), b: payload({ ...CHAT, action: 'toolong' }) });
        expectObservable(source.pipe(decodePackets(jsonCodec({ maxActionLength: 4 })))).toBe(
          '-A-#',
          { A: CHAT },
          new PacketError('ERR_PACKET_ACTION_TOO_LONG', 'action is 7 characters; the limit is 4'),
        );
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('errors with whatever a custom codec throws and unsubscribes the source', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new TypeError('codec broke');
        const codec: Codec = {
          name: 'broken',
          encode: () => new Uint8Array(0),
          decode: () => {
            throw failure;
          },
        };
        const source = cold('--a--|', { a: utf8('x') });
        expectObservable(source.pipe(decodePackets(codec))).toBe('--#', {}, failure);
        expectSubscriptions(source.subscriptions).toBe('^-!');
      });
    });

    it('unsubscribes from the source when the result is unsubscribed early', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b--|', { a: payload(CHAT), b: payload(PING) });
        expectObservable(source.pipe(decodePackets()), '^--!').toBe('-A--', { A: CHAT });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('completes on an empty source', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold<Uint8Array>('|');
        expectObservable(source.pipe(decodePackets())).toBe('|');
        expectSubscriptions(source.subscriptions).toBe('(^!)');
      });
    });

    it('stays silent on a source that never emits', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold<Uint8Array>('-');
        expectObservable(source.pipe(decodePackets())).toBe('-');
        expectSubscriptions(source.subscriptions).toBe('^');
      });
    });

    it('errors at once on a source that errors at once', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const failure = new Error('boom');
        expectObservable(cold<Uint8Array>('#', {}, failure).pipe(decodePackets())).toBe('#', {}, failure);
      });
    });

    it('stops a synchronous source when take(n) has enough', () => {
      testScheduler().run(({ expectObservable }) => {
        const source = from([payload(CHAT), payload(PING), payload(CHAT)]);
        expectObservable(source.pipe(decodePackets(), take(2))).toBe('(AB|)', { A: CHAT, B: PING });
      });
      const { source, pulled } = countingSource(payload(CHAT), 1000);
      const seen: Packet[] = [];
      source.pipe(decodePackets(), take(2)).subscribe((packet) => seen.push(packet));
      expect(seen).to.deep.equal([CHAT, CHAT]);
      expect(pulled()).to.equal(2);
    });

    it('stops a synchronous source at the first malformed payload', () => {
      const { source, pulled } = countingSource(utf8('[]'), 1000);
      let error: unknown;
      source.pipe(decodePackets()).subscribe({ error: (err: unknown) => (error = err) });
      expect(error).to.be.instanceOf(PacketError);
      expect(error).to.have.property('code', 'ERR_PACKET_NOT_OBJECT');
      expect(pulled()).to.equal(1);
    });
  });

  describe('#decodePacketsOrErrors', () => {
    const notJson = new PacketError('ERR_PACKET_JSON', 'payload is not valid JSON');

    it('decodes each payload into a validated packet with the JSON codec by default', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b-|', { a: payload(CHAT), b: payload(PING) });
        expectObservable(source.pipe(decodePacketsOrErrors())).toBe('-A--B-|', { A: CHAT, B: PING });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('emits a malformed payload as its PacketError and carries on', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c-d-|', { a: payload(CHAT), b: utf8('{"action":'), c: utf8('[]'), d: payload(PING) });
        expectObservable(source.pipe(decodePacketsOrErrors())).toBe('-A-x-y-B-|', {
          A: CHAT,
          x: notJson,
          y: new PacketError('ERR_PACKET_NOT_OBJECT', 'a packet must be a JSON object'),
          B: PING,
        });
        expectSubscriptions(source.subscriptions).toBe('^--------!');
      });
    });

    it('emits PacketError instances, not copies', () => {
      const seen: unknown[] = [];
      from([utf8('\u00ff'), new Uint8Array([0xff])]).pipe(decodePacketsOrErrors()).subscribe((value) => seen.push(value));
      expect(seen).to.have.length(2);
      for (const value of seen) expect(value).to.be.instanceOf(PacketError);
      expect(seen.map((value) => (value as PacketError).code)).to.deep.equal(['ERR_PACKET_JSON', 'ERR_PACKET_UTF8']);
    });

    it('emits the PacketError a configured codec throws', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const source = cold('-a-|', { a: payload({ ...CHAT, action: 'toolong' }) });
        expectObservable(source.pipe(decodePacketsOrErrors(jsonCodec({ maxActionLength: 4 })))).toBe('-x-|', {
          x: new PacketError('ERR_PACKET_ACTION_TOO_LONG', 'action is 7 characters; the limit is 4'),
        });
      });
    });

    it('errors and unsubscribes the source when the codec throws something other than a PacketError', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new TypeError('codec broke');
        const codec: Codec = {
          name: 'broken',
          encode: () => new Uint8Array(0),
          decode: () => {
            throw failure;
          },
        };
        const source = cold('--a--|', { a: utf8('x') });
        expectObservable(source.pipe(decodePacketsOrErrors(codec))).toBe('--#', {}, failure);
        expectSubscriptions(source.subscriptions).toBe('^-!');
      });
    });

    it('passes a source error through', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('frames failed');
        const source = cold('-a-b-#', { a: payload(CHAT), b: utf8('nope') }, failure);
        expectObservable(source.pipe(decodePacketsOrErrors())).toBe('-A-x-#', { A: CHAT, x: notJson }, failure);
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('unsubscribes from the source when the result is unsubscribed early', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b--|', { a: payload(CHAT), b: payload(PING) });
        expectObservable(source.pipe(decodePacketsOrErrors()), '^--!').toBe('-A--', { A: CHAT });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('completes on an empty source, stays silent on a silent one, errors on an erroring one', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('boom');
        const empty = cold<Uint8Array>('|');
        const never = cold<Uint8Array>('-');
        expectObservable(empty.pipe(decodePacketsOrErrors())).toBe('|');
        expectObservable(never.pipe(decodePacketsOrErrors())).toBe('-');
        expectObservable(cold<Uint8Array>('#', {}, failure).pipe(decodePacketsOrErrors())).toBe('#', {}, failure);
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
      });
    });

    it('stops a synchronous source when take(n) has enough', () => {
      testScheduler().run(({ expectObservable }) => {
        const source = from([payload(CHAT), utf8('x'), payload(CHAT)]);
        expectObservable(source.pipe(decodePacketsOrErrors(), take(2))).toBe('(Ax|)', { A: CHAT, x: notJson });
      });
      const { source, pulled } = countingSource(utf8('x'), 1000);
      let count = 0;
      source.pipe(decodePacketsOrErrors(), take(3)).subscribe(() => count++);
      expect(count).to.equal(3);
      expect(pulled()).to.equal(3);
    });
  });
});
