import { expect } from 'chai';
import { from } from 'rxjs';
import { PacketError } from '../../lib/errors.js';
import { decodePackets, decodePacketsOrErrors } from '../../lib/operators/decode-packets.js';
import { jsonCodec, type Codec } from '../../lib/protocol/codec.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { countingSource, standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

const CHAT: Packet = { action: 'chat', data: { text: 'hi' }, 'packet-created': 1, token: null };
const PING: Packet = { action: 'ping', data: null, 'packet-created': 2, token: 'tok', id: 4 };
const payload = (packet: Packet): Uint8Array => utf8(JSON.stringify(packet));

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

    it('stops a synchronous source at the first malformed payload', () => {
      const { source, pulled } = countingSource([utf8('[]')], 1000);
      let error: unknown;
      source.pipe(decodePackets()).subscribe({ error: (err: unknown) => (error = err) });
      expect(error).to.be.instanceOf(PacketError);
      expect(error).to.have.property('code', 'ERR_PACKET_NOT_OBJECT');
      expect(pulled()).to.equal(1);
    });

    standardBattery(() => decodePackets(), { a: payload(CHAT), b: payload(PING), A: CHAT, B: PING });
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

    standardBattery(() => decodePacketsOrErrors(), { a: payload(CHAT), b: payload(PING), A: CHAT, B: PING });
  });
});
