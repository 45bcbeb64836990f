import { expect } from 'chai';
import fc from 'fast-check';
import { envelopeText, tokenField } from '../../lib/protocol/envelope-text.js';

describe('protocol/envelope-text', () => {
  it('writes the text JSON.stringify writes for the packet, for any action, data, time and token', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.jsonValue(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), (action, data, createdAt, token) => {
        const expected = JSON.stringify({ action, data, 'packet-created': createdAt, token });
        expect(envelopeText(action, data, createdAt, tokenField(token))).to.equal(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('puts the fields in `after` behind the token, as JSON.stringify does for a packet with an id or a stream', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (data, id) => {
        const token = '6c1f5a0e-8d5b-4f7e-9a55-3f2d8a1b9c40';
        expect(envelopeText('reply', data, 5, tokenField(token), `,"id":${id}`)).to.equal(JSON.stringify({ action: 'reply', data, 'packet-created': 5, token, id }));
        expect(envelopeText('stream-next', data, 5, tokenField(token), `,"stream":${id}`)).to.equal(
          JSON.stringify({ action: 'stream-next', data, 'packet-created': 5, token, stream: id }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('escapes actions and tokens that need it, and keeps serving the same text once the action is cached', () => {
    const action = 'say "hi"\n\u2028';
    const first = envelopeText(action, 1, 2, tokenField('t"\\'));
    expect(first).to.equal(JSON.stringify({ action, data: 1, 'packet-created': 2, token: 't"\\' }));
    expect(envelopeText(action, 1, 2, tokenField('t"\\'))).to.equal(first);
  });

  it('writes the same text for more actions than it caches', () => {
    for (let i = 0; i < 5_000; i++) {
      const action = `action-${i}`;
      expect(envelopeText(action, i, 0, tokenField('t'))).to.equal(JSON.stringify({ action, data: i, 'packet-created': 0, token: 't' }));
    }
  });

  it('gives undefined when the data has no JSON text of its own or the time is not finite, so the caller encodes the whole packet', () => {
    expect(envelopeText('a', undefined, 1, tokenField('t'))).to.equal(undefined);
    expect(envelopeText('a', () => 1, 1, tokenField('t'))).to.equal(undefined);
    expect(envelopeText('a', { toJSON: () => undefined }, 1, tokenField('t'))).to.equal(undefined);
    expect(envelopeText('a', 1, Number.NaN, tokenField('t'))).to.equal(undefined);
    expect(envelopeText('a', 1, Number.POSITIVE_INFINITY, tokenField('t'))).to.equal(undefined);
  });

  it('throws what JSON.stringify throws for data that cannot be serialised', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => envelopeText('a', cycle, 1, tokenField('t'))).to.throw(TypeError);
    expect(() => envelopeText('a', { n: 1n }, 1, tokenField('t'))).to.throw(TypeError);
  });
});
