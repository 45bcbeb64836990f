import { expect } from 'chai';
import { DEFAULTS } from '../lib/defaults.js';
import { resolveCommonOptions } from '../lib/options.js';

describe('options: inbound limits', () => {
  it('defaults incompleteFrameTimeoutMs to 30 s', () => {
    expect(DEFAULTS.incompleteFrameTimeoutMs).to.equal(30_000);
    expect(resolveCommonOptions({}).incompleteFrameTimeoutMs).to.equal(30_000);
  });

  it('accepts Infinity for incompleteFrameTimeoutMs (off) and refuses 0, NaN and delays over 2^31 − 1 ms', () => {
    expect(resolveCommonOptions({ incompleteFrameTimeoutMs: Number.POSITIVE_INFINITY }).incompleteFrameTimeoutMs).to.equal(Number.POSITIVE_INFINITY);
    for (const value of [0, Number.NaN, 2 ** 31, -1]) {
      expect(() => resolveCommonOptions({ incompleteFrameTimeoutMs: value })).to.throw(RangeError, 'incompleteFrameTimeoutMs');
    }
  });
});
