import { expect } from 'chai';
import { MAX_DELAY_MS, checkDelay, refuseDelay } from '../lib/timing.js';

describe('timing', () => {
  describe('#checkDelay', () => {
    it('returns a delay above 0 and at most 2^31 − 1 unchanged', () => {
      expect(checkDelay('t', 1)).to.equal(1);
      expect(checkDelay('t', 0.5)).to.equal(0.5);
      expect(checkDelay('t', MAX_DELAY_MS)).to.equal(MAX_DELAY_MS);
    });

    for (const value of [0, -1, MAX_DELAY_MS + 1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      it(`refuses ${value} by default with a RangeError naming the option and the value`, () => {
        expect(() => checkDelay('someTimeoutMs', value)).to.throw(RangeError, /someTimeoutMs.*got/);
      });
    }

    it('refuses a value that is not a number', () => {
      expect(() => checkDelay('t', '5' as unknown as number)).to.throw(RangeError, 't');
    });

    it('allows 0 only with zero, and Infinity only with infinite', () => {
      expect(checkDelay('t', 0, { zero: true })).to.equal(0);
      expect(checkDelay('t', Number.POSITIVE_INFINITY, { infinite: true })).to.equal(Number.POSITIVE_INFINITY);
      expect(() => checkDelay('t', 0, { infinite: true })).to.throw(RangeError);
      expect(() => checkDelay('t', Number.POSITIVE_INFINITY, { zero: true })).to.throw(RangeError);
      expect(() => checkDelay('t', MAX_DELAY_MS + 1, { zero: true, infinite: true })).to.throw(RangeError, 'or Infinity');
    });
  });

  describe('#refuseDelay', () => {
    it('returns the error instead of throwing it, or null', () => {
      expect(refuseDelay('t', 10)).to.equal(null);
      expect(refuseDelay('t', -1)).to.be.instanceOf(RangeError);
    });
  });
});
