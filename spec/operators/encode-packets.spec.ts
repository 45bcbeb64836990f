import { expect } from 'chai';
import { PacketError } from '../../lib/errors.js';
import { decodePackets } from '../../lib/operators/decode-packets.js';
import { encodePackets } from '../../lib/operators/encode-packets.js';
import type { Codec } from '../../lib/protocol/codec.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { countingSource, standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

const CHAT: Packet = { action: 'chat', data: { text: 'héllo' }, 'packet-created': 1, token: null };
const PING: Packet = { action: 'ping', data: [1, 2], 'packet-created': 2, token: 'tok', id: 9 };
const json = (packet: Packet): Uint8Array => utf8(JSON.stringify(packet));

/** A packet the JSON codec cannot serialise. */
function circular(): Packet {
  const data: Record<string, unknown> = {};
  data.self = data;
  return { action: 'loop', data, 'packet-created': 3, token: null };
}

describe('operators/encodePackets', () => {
  describe('#encodePackets', () => {
    it('serialises each packet as UTF-8 JSON with the JSON codec by default', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b-|', { a: CHAT, b: PING });
        expectObservable(source.pipe(encodePackets())).toBe('-x--y-|', { x: json(CHAT), y: json(PING) });
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('serialises with the codec it is given', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const codec: Codec = {
          name: 'action-only',
          encode: (packet) => utf8(packet.action),
          decode: () => CHAT,
        };
        expectObservable(cold('-a-b-|', { a: CHAT, b: PING }).pipe(encodePackets(codec))).toBe('-x-y-|', {
          x: utf8('chat'),
          y: utf8('ping'),
        });
      });
    });

    it('errors with ERR_PACKET_JSON and unsubscribes the source on a packet JSON cannot represent', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c-|', { a: CHAT, b: circular(), c: PING });
        expectObservable(source.pipe(encodePackets())).toBe(
          '-x-#',
          { x: json(CHAT) },
          new PacketError('ERR_PACKET_JSON', 'packet "loop" cannot be serialised as JSON'),
        );
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('errors with whatever a custom codec throws and unsubscribes the source', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new RangeError('too big');
        const codec: Codec = {
          name: 'broken',
          encode: () => {
            throw failure;
          },
          decode: () => CHAT,
        };
        const source = cold('--a--|', { a: CHAT });
        expectObservable(source.pipe(encodePackets(codec))).toBe('--#', {}, failure);
        expectSubscriptions(source.subscriptions).toBe('^-!');
      });
    });

    it('stops a synchronous source at the first packet it cannot serialise', () => {
      const { source, pulled } = countingSource([circular()], 1000);
      let error: unknown;
      source.pipe(encodePackets()).subscribe({ error: (err: unknown) => (error = err) });
      expect(error).to.be.instanceOf(PacketError);
      expect(error).to.have.property('code', 'ERR_PACKET_JSON');
      expect(pulled()).to.equal(1);
    });

    it('is undone by decodePackets', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const packets = { a: CHAT, b: PING };
        expectObservable(cold('-a-b-|', packets).pipe(encodePackets(), decodePackets())).toBe('-a-b-|', packets);
      });
    });

    standardBattery(() => encodePackets(), { a: CHAT, b: PING, A: json(CHAT), B: json(PING) });
  });
});
