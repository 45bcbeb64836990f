import { expect } from 'chai';
import fc from 'fast-check';
import { StreamCreditError } from '../../../lib/errors.js';
import { ReceiveCredit } from '../../../lib/session/streams/receive-credit.js';

describe('session/streams/ReceiveCredit', () => {
  it('with prefetch 256 grants 192 after every 192 values consumed', () => {
    const credit = new ReceiveCredit(256, 256);
    const grants: Array<[number, number]> = [];
    for (let i = 1; i <= 600; i++) {
      expect(credit.receive()).to.equal(true);
      const grant = credit.consumed();
      if (grant > 0) grants.push([i, grant]);
    }
    expect(grants).to.deep.equal([
      [192, 192],
      [384, 192],
      [576, 192],
    ]);
  });

  it('with prefetch 1 grants 1 after each value', () => {
    const credit = new ReceiveCredit(1, 1);
    for (let i = 0; i < 5; i++) {
      expect(credit.receive()).to.equal(true);
      expect(credit.consumed()).to.equal(1);
    }
  });

  it('keeps the credit the peer holds between prefetch/4 and prefetch for any window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 3000 }), (prefetch, values) => {
        const credit = new ReceiveCredit(prefetch, prefetch);
        for (let i = 0; i < values; i++) {
          if (!credit.receive()) return false;
          credit.consumed();
          if (credit.held > prefetch || credit.held < Math.floor(prefetch / 4)) return false;
        }
        return true;
      }),
    );
  });

  it('refuses a value when the peer holds no credit', () => {
    const credit = new ReceiveCredit(1, 0);
    expect(credit.receive()).to.equal(true);
    expect(credit.receive()).to.equal(false);
  });

  it('in demand mode grants only what is requested, up to 2^31 - 1 outstanding', () => {
    const credit = new ReceiveCredit(0, 0);
    expect(credit.receive()).to.equal(false);
    expect(credit.grant(2)).to.equal(2);
    expect(credit.receive() && credit.consumed()).to.equal(0);
    expect(credit.held).to.equal(1);
    expect(credit.grant(2 ** 31 - 2)).to.equal(2 ** 31 - 2);
    expect(() => credit.grant(1)).to.throw(StreamCreditError);
    for (const n of [0, -3, 0.5, NaN, Infinity]) expect(() => credit.grant(n)).to.throw(StreamCreditError);
  });
});
