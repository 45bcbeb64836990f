import { expect } from 'chai';
import { allWords, splitArgs } from '../../lib/cli/words.js';

describe('words', () => {
  describe('splitArgs', () => {
    it('splits leading words and keeps the rest verbatim', () => {
      expect(splitArgs('a1b2  chat {"text": "hi  there"}', 2)).to.deep.equal({ words: ['a1b2', 'chat'], rest: '{"text": "hi  there"}' });
    });

    it('returns fewer words when the line runs out', () => {
      expect(splitArgs(' chat ', 2)).to.deep.equal({ words: ['chat'], rest: '' });
      expect(splitArgs('', 1)).to.deep.equal({ words: [], rest: '' });
    });

    it('takes nothing for count 0', () => {
      expect(splitArgs(' too noisy ', 0)).to.deep.equal({ words: [], rest: 'too noisy' });
    });
  });

  describe('allWords', () => {
    it('splits on any whitespace and drops empties', () => {
      expect(allWords('  on\ta  b ')).to.deep.equal(['on', 'a', 'b']);
      expect(allWords('')).to.deep.equal([]);
    });
  });
});
