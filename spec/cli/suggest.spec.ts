import { expect } from 'chai';
import { editDistance, suggest } from '../../lib/cli/suggest.js';

describe('suggest', () => {
  describe('editDistance', () => {
    it('is 0 for equal strings and the length for an empty one', () => {
      expect(editDistance('status', 'status')).to.equal(0);
      expect(editDistance('', 'abc')).to.equal(3);
      expect(editDistance('abc', '')).to.equal(3);
    });

    it('counts insertions, deletions and substitutions', () => {
      expect(editDistance('kitten', 'sitting')).to.equal(3);
      expect(editDistance('clints', 'clients')).to.equal(1);
    });

    it('counts a swap of neighbours as one edit', () => {
      expect(editDistance('stauts', 'status')).to.equal(1);
      expect(editDistance('ab', 'ba')).to.equal(1);
    });
  });

  describe('suggest', () => {
    const commands = ['help', 'status', 'clients', 'send', 'broadcast', 'kick', 'actions', 'log', 'stop', 'quit'];

    it('finds the closest command for a typo', () => {
      expect(suggest('stauts', commands)).to.equal('status');
      expect(suggest('brodcast', commands)).to.equal('broadcast');
      expect(suggest('qiut', commands)).to.equal('quit');
    });

    it('completes a prefix', () => {
      expect(suggest('broad', commands)).to.equal('broadcast');
    });

    it('ignores case', () => {
      expect(suggest('STAUTS', commands)).to.equal('status');
    });

    it('suggests nothing when nothing is close', () => {
      expect(suggest('xyzzy', commands)).to.equal(undefined);
      expect(suggest('', commands)).to.equal(undefined);
    });

    it('breaks ties alphabetically', () => {
      expect(suggest('sop', ['stop', 'shop'])).to.equal('shop');
    });
  });
});
