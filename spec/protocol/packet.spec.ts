import { expect } from 'chai';
import sinon from 'sinon';
import { DEFAULTS } from '../../lib/defaults.js';
import { PacketError, PnetworkError, type PacketErrorCode } from '../../lib/errors.js';
import { createPacket, RESERVED_ACTIONS, validatePacket, type PacketLimits } from '../../lib/protocol/packet.js';

const LIMITS: PacketLimits = { maxActionLength: DEFAULTS.maxActionLength, maxDepth: DEFAULTS.maxDepth };

/** A well-formed packet to break one field at a time. */
function valid(): Record<string, unknown> {
  return { action: 'chat', data: { text: 'hi' }, 'packet-created': 1_700_000_000_000, token: null };
}

/** Asserts that validating `value` throws a PacketError with `code`. */
function expectRejected(value: unknown, code: PacketErrorCode, limits: PacketLimits = LIMITS): PacketError {
  let thrown: unknown;
  try {
    validatePacket(value, limits);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).to.be.instanceOf(PacketError);
  expect(thrown).to.be.instanceOf(PnetworkError);
  expect((thrown as PacketError).code).to.equal(code);
  expect((thrown as PacketError).name).to.equal('PacketError');
  return thrown as PacketError;
}

/** `depth` levels of nested arrays around `leaf`. */
function nested(depth: number, leaf: unknown = 0): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('protocol/packet', () => {
  describe('RESERVED_ACTIONS', () => {
    it('holds exactly the protocol action names', () => {
      expect([...RESERVED_ACTIONS].sort()).to.deep.equal([
        'closing',
        'error',
        'handshake',
        'ping',
        'pong',
        'reply',
        'stream-cancel',
        'stream-complete',
        'stream-credit',
        'stream-error',
        'stream-next',
      ]);
    });

    it('does not reserve ordinary action names', () => {
      expect(RESERVED_ACTIONS.has('chat')).to.equal(false);
    });
  });

  describe('#createPacket', () => {
    it('builds a packet with action, data, the current time and the token', () => {
      const clock = sinon.useFakeTimers({ now: 1_234_567, toFake: ['Date'] });
      try {
        expect(createPacket('chat', { text: 'hi' }, 'tok')).to.deep.equal({
          action: 'chat',
          data: { text: 'hi' },
          'packet-created': 1_234_567,
          token: 'tok',
        });
      } finally {
        clock.restore();
      }
    });

    it('defaults the token to null', () => {
      const packet = createPacket('chat', 1);
      expect(packet.token).to.equal(null);
      expect(packet).to.have.all.keys('action', 'data', 'packet-created', 'token');
    });

    it('stamps packet-created from Date.now()', () => {
      const before = Date.now();
      const packet = createPacket('chat', null);
      expect(packet['packet-created']).to.be.within(before, Date.now());
    });

    it('builds a packet that passes validation', () => {
      expect(validatePacket(createPacket('chat', [1, 'two', { three: 3 }]), LIMITS).action).to.equal('chat');
    });
  });

  describe('#validatePacket', () => {
    it('returns the same object for a well-formed packet', () => {
      const packet = valid();
      expect(validatePacket(packet, LIMITS)).to.equal(packet);
    });

    it('accepts a string token, null data and a non-negative integer id', () => {
      expect(() => validatePacket({ ...valid(), token: 'secret', data: null, id: 0 }, LIMITS)).not.to.throw();
      expect(() => validatePacket({ ...valid(), id: Number.MAX_SAFE_INTEGER }, LIMITS)).not.to.throw();
    });

    it('accepts any JSON value as data', () => {
      for (const data of [false, 0, -1.5, '', 'text', [], {}, [null, [1]], { a: { b: [] } }]) {
        expect(() => validatePacket({ ...valid(), data }, LIMITS), JSON.stringify(data)).not.to.throw();
      }
    });

    describe('ERR_PACKET_NOT_OBJECT', () => {
      it('rejects values that are not plain objects', () => {
        for (const value of [null, undefined, 1, 'packet', true, [], [valid()]]) {
          expectRejected(value, 'ERR_PACKET_NOT_OBJECT');
        }
      });
    });

    describe('ERR_PACKET_ACTION', () => {
      it('rejects a missing action', () => {
        const packet = valid();
        delete packet.action;
        expectRejected(packet, 'ERR_PACKET_ACTION');
      });

      it('rejects an empty action', () => {
        expectRejected({ ...valid(), action: '' }, 'ERR_PACKET_ACTION');
      });

      it('rejects an action that is not a string', () => {
        for (const action of [1, null, true, ['chat'], { name: 'chat' }]) {
          expectRejected({ ...valid(), action }, 'ERR_PACKET_ACTION');
        }
      });
    });

    describe('ERR_PACKET_ACTION_TOO_LONG', () => {
      it('accepts an action of exactly 256 characters', () => {
        expect(validatePacket({ ...valid(), action: 'a'.repeat(256) }, LIMITS).action).to.have.length(256);
      });

      it('rejects an action of 257 characters', () => {
        const err = expectRejected({ ...valid(), action: 'a'.repeat(257) }, 'ERR_PACKET_ACTION_TOO_LONG');
        expect(err.message).to.include('257');
      });

      it('counts UTF-16 code units', () => {
        // Each emoji is two UTF-16 code units: 128 fit, 129 do not.
        expect(() => validatePacket({ ...valid(), action: '😀'.repeat(128) }, LIMITS)).not.to.throw();
        expectRejected({ ...valid(), action: '😀'.repeat(129) }, 'ERR_PACKET_ACTION_TOO_LONG');
      });

      it('honours a configured maxActionLength', () => {
        const limits = { ...LIMITS, maxActionLength: 4 };
        expect(() => validatePacket({ ...valid(), action: 'abcd' }, limits)).not.to.throw();
        expectRejected({ ...valid(), action: 'abcde' }, 'ERR_PACKET_ACTION_TOO_LONG', limits);
      });
    });

    describe('ERR_PACKET_FIELD_TYPE', () => {
      it('rejects missing data', () => {
        const packet = valid();
        delete packet.data;
        expectRejected(packet, 'ERR_PACKET_FIELD_TYPE');
      });

      it('rejects undefined data', () => {
        expectRejected({ ...valid(), data: undefined }, 'ERR_PACKET_FIELD_TYPE');
      });

      it('rejects a missing packet-created', () => {
        const packet = valid();
        delete packet['packet-created'];
        expectRejected(packet, 'ERR_PACKET_FIELD_TYPE');
      });

      it('rejects a packet-created that is not a finite number', () => {
        for (const created of ['1700000000000', null, NaN, Infinity, -Infinity, true, [1]]) {
          expectRejected({ ...valid(), 'packet-created': created }, 'ERR_PACKET_FIELD_TYPE');
        }
      });

      it('rejects a missing token', () => {
        const packet = valid();
        delete packet.token;
        expectRejected(packet, 'ERR_PACKET_FIELD_TYPE');
      });

      it('rejects a token that is neither a string nor null', () => {
        for (const token of [0, false, {}, ['t']]) {
          expectRejected({ ...valid(), token }, 'ERR_PACKET_FIELD_TYPE');
        }
      });

      it('rejects an id that is not a non-negative safe integer', () => {
        for (const id of [-1, 1.5, '1', null, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, true]) {
          const err = expectRejected({ ...valid(), id }, 'ERR_PACKET_FIELD_TYPE');
          expect(err.message).to.include('id');
        }
      });
    });

    describe('stream fields', () => {
      it('accepts stream, credit and channel within their ranges', () => {
        for (const fields of [{ stream: 1 }, { stream: 2 ** 31 - 1, credit: 0 }, { stream: 3, credit: 2 ** 31 - 1, channel: true }, { stream: 4, channel: false }]) {
          expect(validatePacket({ ...valid(), ...fields }, LIMITS)).to.include(fields);
        }
      });

      it('rejects a stream id that is not an integer from 1 to 2^31 - 1', () => {
        for (const stream of [0, -1, 1.5, '1', null, 2 ** 31, true]) {
          const err = expectRejected({ ...valid(), stream }, 'ERR_PACKET_FIELD_TYPE');
          expect(err.message).to.include('stream');
        }
      });

      it('rejects a credit that is not an integer from 0 to 2^31 - 1', () => {
        for (const credit of [-1, 0.5, '1', null, 2 ** 31]) {
          const err = expectRejected({ ...valid(), stream: 1, credit }, 'ERR_PACKET_FIELD_TYPE');
          expect(err.message).to.include('credit');
        }
      });

      it('rejects a channel flag that is not a boolean', () => {
        for (const channel of [1, 'true', null]) expectRejected({ ...valid(), stream: 1, credit: 1, channel }, 'ERR_PACKET_FIELD_TYPE');
      });
    });

    describe('ERR_PACKET_UNKNOWN_KEY', () => {
      it('rejects a key outside action, data, packet-created, token, id, stream, credit and channel', () => {
        const err = expectRejected({ ...valid(), extra: 1 }, 'ERR_PACKET_UNKNOWN_KEY');
        expect(err.message).to.include('"extra"');
      });

      it('truncates a long unknown key in the message', () => {
        const err = expectRejected({ ...valid(), ['k'.repeat(100)]: 1 }, 'ERR_PACKET_UNKNOWN_KEY');
        expect(err.message).to.include(`"${'k'.repeat(32)}…"`);
        expect(err.message).not.to.include('k'.repeat(33));
      });

      it('rejects an own __proto__ key at the top level', () => {
        expectRejected(JSON.parse('{"action":"a","data":1,"packet-created":1,"token":null,"__proto__":{}}'), 'ERR_PACKET_UNKNOWN_KEY');
      });

      it('checks unknown keys before the other fields', () => {
        expectRejected({ extra: 1 }, 'ERR_PACKET_UNKNOWN_KEY');
      });
    });

    describe('ERR_PACKET_TOO_DEEP', () => {
      it('accepts data nested exactly maxDepth levels deep', () => {
        expect(() => validatePacket({ ...valid(), data: nested(DEFAULTS.maxDepth) }, LIMITS)).not.to.throw();
      });

      it('rejects data nested one level deeper than maxDepth', () => {
        const err = expectRejected({ ...valid(), data: nested(DEFAULTS.maxDepth + 1) }, 'ERR_PACKET_TOO_DEEP');
        expect(err.message).to.include(String(DEFAULTS.maxDepth));
      });

      it('honours a configured maxDepth', () => {
        const limits = { ...LIMITS, maxDepth: 2 };
        expect(() => validatePacket({ ...valid(), data: { a: [1] } }, limits)).not.to.throw();
        expectRejected({ ...valid(), data: { a: [[1]] } }, 'ERR_PACKET_TOO_DEEP', limits);
        expectRejected({ ...valid(), data: [1, { a: 1, b: { c: 1 } }] }, 'ERR_PACKET_TOO_DEEP', limits);
      });

      it('treats scalars as depth 0 and empty containers as depth 1', () => {
        const limits = { ...LIMITS, maxDepth: 0 };
        expect(() => validatePacket({ ...valid(), data: 'scalar' }, limits)).not.to.throw();
        expectRejected({ ...valid(), data: {} }, 'ERR_PACKET_TOO_DEEP', limits);
        expectRejected({ ...valid(), data: [] }, 'ERR_PACKET_TOO_DEEP', { ...LIMITS, maxDepth: 0 });
      });

      it('finds the deep branch among shallow siblings', () => {
        const limits = { ...LIMITS, maxDepth: 3 };
        expectRejected({ ...valid(), data: { a: 1, b: [2], c: { d: { e: [5] } }, f: 'x' } }, 'ERR_PACKET_TOO_DEEP', limits);
      });

      it('checks very deep data without overflowing the stack', () => {
        expectRejected({ ...valid(), data: nested(200_000) }, 'ERR_PACKET_TOO_DEEP');
        expect(() =>
          validatePacket({ ...valid(), data: nested(200_000) }, { ...LIMITS, maxDepth: 200_000 }),
        ).not.to.throw();
      });
    });

    describe('prototype pollution', () => {
      afterEach(() => {
        delete (Object.prototype as Record<string, unknown>).polluted;
      });

      it('keeps __proto__, constructor and prototype keys in data as plain own properties', () => {
        const packet = JSON.parse(
          '{"action":"a","token":null,"packet-created":1,"data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":{"polluted":3}}}',
        ) as Record<string, unknown>;
        const data = validatePacket(packet, LIMITS).data as Record<string, unknown>;
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        expect(Object.keys(data)).to.deep.equal(['__proto__', 'constructor', 'prototype']);
        expect(Object.getPrototypeOf(data)).to.equal(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).to.deep.equal({ polluted: 1 });
      });
    });
  });
});
