import { expect } from 'chai';
import { DEFAULTS } from '../../lib/defaults.js';
import { PacketError, PnetworkError, type PacketErrorCode } from '../../lib/errors.js';
import { isTextCodec, JSON_CODEC, jsonCodec, type Codec } from '../../lib/protocol/codec.js';
import type { Packet } from '../../lib/protocol/packet.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const hexBytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

function packetJson(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ action: 'chat', data: { text: 'hi' }, 'packet-created': 1_700_000_000_000, token: null, ...fields });
}

/** Calls `fn` and asserts it threw a PacketError with `code`. */
function expectPacketError(fn: () => unknown, code: PacketErrorCode): PacketError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).to.be.instanceOf(PacketError);
  expect(thrown).to.be.instanceOf(PnetworkError);
  expect((thrown as PacketError).code).to.equal(code);
  return thrown as PacketError;
}

describe('protocol/codec', () => {
  describe('JSON_CODEC', () => {
    it('is a text codec named json', () => {
      expect(JSON_CODEC.name).to.equal('json');
      expect(isTextCodec(JSON_CODEC)).to.equal(true);
    });

    it('enforces the default limits', () => {
      expect(() => JSON_CODEC.decode(utf8(packetJson({ action: 'a'.repeat(DEFAULTS.maxActionLength) })))).not.to.throw();
      expectPacketError(
        () => JSON_CODEC.decode(utf8(packetJson({ action: 'a'.repeat(DEFAULTS.maxActionLength + 1) }))),
        'ERR_PACKET_ACTION_TOO_LONG',
      );
      const deep = JSON.parse('['.repeat(DEFAULTS.maxDepth + 1) + ']'.repeat(DEFAULTS.maxDepth + 1)) as unknown;
      expectPacketError(() => JSON_CODEC.decode(utf8(packetJson({ data: deep }))), 'ERR_PACKET_TOO_DEEP');
    });
  });

  describe('#isTextCodec', () => {
    it('is false for a codec without encodeText', () => {
      const codec: Codec = { name: 'bytes', encode: () => new Uint8Array(0), decode: () => ({}) as Packet };
      expect(isTextCodec(codec)).to.equal(false);
    });
  });

  describe('#jsonCodec', () => {
    describe('#encode', () => {
      it('serialises a packet as UTF-8 JSON', () => {
        const packet: Packet = { action: 'chat', data: { text: 'héllo 😀' }, 'packet-created': 5, token: null };
        const bytes = jsonCodec().encode(packet);
        expect(Buffer.from(bytes).toString('utf8')).to.equal(JSON.stringify(packet));
      });

      it('keeps the id of a request', () => {
        const packet: Packet = { action: 'sum', data: [1, 2], 'packet-created': 5, token: 't', id: 7 };
        expect(JSON.parse(Buffer.from(jsonCodec().encode(packet)).toString())).to.deep.equal(packet);
      });

      it('throws ERR_PACKET_JSON for a circular packet, keeping the cause', () => {
        const data: Record<string, unknown> = {};
        data.self = data;
        const err = expectPacketError(
          () => jsonCodec().encode({ action: 'loop', data, 'packet-created': 1, token: null }),
          'ERR_PACKET_JSON',
        );
        expect(err.message).to.include('"loop"');
        expect(err.cause).to.be.instanceOf(TypeError);
      });

      it('throws ERR_PACKET_JSON for a BigInt in data', () => {
        expectPacketError(
          () => jsonCodec().encode({ action: 'big', data: 1n, 'packet-created': 1, token: null }),
          'ERR_PACKET_JSON',
        );
      });

      it('throws ERR_PACKET_JSON when the packet serialises to nothing', () => {
        expectPacketError(() => jsonCodec().encode(undefined as unknown as Packet), 'ERR_PACKET_JSON');
      });
    });

    describe('#encodeText', () => {
      it('returns the JSON text', () => {
        const packet: Packet = { action: 'chat', data: null, 'packet-created': 5, token: 'x' };
        expect(jsonCodec().encodeText(packet)).to.equal(JSON.stringify(packet));
      });
    });

    describe('#decode', () => {
      it('parses and validates a packet', () => {
        expect(jsonCodec().decode(utf8(packetJson({ id: 3 })))).to.deep.equal({
          action: 'chat',
          data: { text: 'hi' },
          'packet-created': 1_700_000_000_000,
          token: null,
          id: 3,
        });
      });

      it('round-trips what encode produced', () => {
        const codec = jsonCodec();
        const packet: Packet = { action: 'ü', data: { list: [1, 'two', null, true], nested: { x: -1.5 } }, 'packet-created': 9, token: 'tok' };
        expect(codec.decode(codec.encode(packet))).to.deep.equal(packet);
      });

      it('decodes a view into a larger buffer using only the viewed bytes', () => {
        const text = packetJson();
        const backing = Buffer.from(`garbage${text}trailing`, 'utf8');
        const view = new Uint8Array(backing.buffer, backing.byteOffset + 7, Buffer.byteLength(text));
        expect(jsonCodec().decode(view).action).to.equal('chat');
      });

      it('throws ERR_PACKET_UTF8 for invalid UTF-8 bytes', () => {
        // 0xc3 starts a two-byte sequence; 0x28 cannot continue it.
        expectPacketError(() => jsonCodec().decode(hexBytes('7b22613a22c328227d')), 'ERR_PACKET_UTF8');
        // A lone continuation byte, an overlong encoding and a UTF-16 surrogate are all invalid.
        for (const hex of ['80', 'c0af', 'eda080', 'ff']) {
          expectPacketError(() => jsonCodec().decode(hexBytes(hex)), 'ERR_PACKET_UTF8');
        }
      });

      it('throws ERR_PACKET_UTF8 for a valid packet cut inside a multi-byte character', () => {
        const bytes = utf8(packetJson({ data: 'é' }));
        const cut = Buffer.from(bytes).indexOf(0xa9);
        expectPacketError(() => jsonCodec().decode(bytes.subarray(0, cut)), 'ERR_PACKET_UTF8');
      });

      it('throws ERR_PACKET_JSON for a packet behind a UTF-8 byte order mark (the mark is not dropped)', () => {
        const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(utf8(packetJson()))]);
        expectPacketError(() => jsonCodec().decode(bytes), 'ERR_PACKET_JSON');
      });

      it('throws ERR_PACKET_JSON for bytes that are not JSON, keeping the cause', () => {
        for (const text of ['', '{', '{"action":}', 'undefined', "{'action':'a'}", packetJson() + 'x']) {
          const err = expectPacketError(() => jsonCodec().decode(utf8(text)), 'ERR_PACKET_JSON');
          expect(err.cause).to.be.instanceOf(SyntaxError);
        }
      });

      it('throws ERR_PACKET_NOT_OBJECT for JSON that is not an object', () => {
        for (const text of ['null', '1', '"chat"', '[]', 'true']) {
          expectPacketError(() => jsonCodec().decode(utf8(text)), 'ERR_PACKET_NOT_OBJECT');
        }
      });

      it('throws the validator code for a malformed packet', () => {
        expectPacketError(() => jsonCodec().decode(utf8(packetJson({ action: '' }))), 'ERR_PACKET_ACTION');
        expectPacketError(() => jsonCodec().decode(utf8(packetJson({ token: 1 }))), 'ERR_PACKET_FIELD_TYPE');
        expectPacketError(() => jsonCodec().decode(utf8(packetJson({ more: 1 }))), 'ERR_PACKET_UNKNOWN_KEY');
      });

      it('honours a configured maxActionLength', () => {
        const codec = jsonCodec({ maxActionLength: 3 });
        expect(codec.decode(utf8(packetJson({ action: 'abc' }))).action).to.equal('abc');
        expectPacketError(() => codec.decode(utf8(packetJson({ action: 'abcd' }))), 'ERR_PACKET_ACTION_TOO_LONG');
      });

      it('honours a configured maxDepth', () => {
        const codec = jsonCodec({ maxDepth: 2 });
        expect(codec.decode(utf8(packetJson({ data: [[1]] }))).data).to.deep.equal([[1]]);
        expectPacketError(() => codec.decode(utf8(packetJson({ data: [[[1]]] }))), 'ERR_PACKET_TOO_DEEP');
        expect(() => jsonCodec({ maxDepth: 3 }).decode(utf8(packetJson({ data: [[[1]]] })))).not.to.throw();
      });

      it('rejects a 100,000-level nesting with a PacketError', () => {
        const data = '['.repeat(100_000) + ']'.repeat(100_000);
        const text = `{"action":"a","data":${data},"packet-created":1,"token":null}`;
        expect(() => jsonCodec().decode(utf8(text))).to.throw(PacketError);
      });

      describe('prototype pollution', () => {
        afterEach(() => {
          delete (Object.prototype as Record<string, unknown>).polluted;
        });

        for (const [key, json] of [
          ['__proto__', '{"__proto__":{"polluted":1}}'],
          ['constructor', '{"constructor":{"prototype":{"polluted":1}}}'],
          ['prototype', '{"prototype":{"polluted":1}}'],
        ] as const) {
          it(`keeps a ${key} key in data as an own property without polluting Object.prototype`, () => {
            const packet = jsonCodec().decode(utf8(`{"action":"a","data":${json},"packet-created":1,"token":null}`));
            const data = packet.data as Record<string, unknown>;
            expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
            expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).to.equal(false);
            expect(Object.prototype.hasOwnProperty.call(data, key)).to.equal(true);
            expect(Object.keys(data)).to.deep.equal([key]);
            expect(Object.getPrototypeOf(data)).to.equal(Object.prototype);
          });
        }

        it('keeps a nested __proto__ key deep inside data as an own property', () => {
          const packet = jsonCodec().decode(
            utf8('{"action":"a","data":{"list":[{"__proto__":{"polluted":1}}]},"packet-created":1,"token":null}'),
          );
          const item = (packet.data as { list: Record<string, unknown>[] }).list[0]!;
          expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
          expect(item.polluted).to.equal(undefined);
          expect(Object.getOwnPropertyDescriptor(item, '__proto__')?.value).to.deep.equal({ polluted: 1 });
        });
      });
    });
  });
});
