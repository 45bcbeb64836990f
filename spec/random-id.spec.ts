import { expect } from 'chai';
import { randomHexId } from '../lib/random-id.js';

describe('randomHexId', () => {
  it('gives 2n lowercase hex digits, never the same id twice across several refills of its pool', () => {
    const ids = Array.from({ length: 5000 }, () => randomHexId(8));
    for (const id of ids) expect(id).to.match(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('serves an id larger than its pool, and odd sizes that do not divide it', () => {
    expect(randomHexId(5000)).to.match(/^[0-9a-f]{10000}$/);
    const odd = Array.from({ length: 2000 }, () => randomHexId(7));
    for (const id of odd) expect(id).to.have.length(14);
    expect(new Set(odd).size).to.equal(odd.length);
  });
});
