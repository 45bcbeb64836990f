import { expect } from 'chai';
import { createStyler } from '../../lib/cli/style.js';
import { formatPairs, formatTable } from '../../lib/cli/table.js';

describe('table', () => {
  describe('formatTable', () => {
    it('pads every column to its widest cell, numbers on the right', () => {
      const lines = formatTable(
        [{ header: 'ACTION' }, { header: 'HITS', align: 'right' }],
        [
          ['echo', '2'],
          ['broadcast-all', '1234'],
        ],
      );
      expect(lines).to.deep.equal(['ACTION         HITS', 'echo              2', 'broadcast-all  1234']);
    });

    it('leaves no trailing spaces and fills short rows', () => {
      const lines = formatTable([{ header: 'A' }, { header: 'LONG HEADER' }], [['x']]);
      expect(lines).to.deep.equal(['A  LONG HEADER', 'x']);
    });

    it('can omit the header and change the gap', () => {
      expect(formatTable([{ header: 'WIDE HEADER' }, { header: 'B' }], [['a', 'b']], { header: false, gap: 1 })).to.deep.equal(['a b']);
    });

    it('measures styled cells by what shows', () => {
      const style = createStyler(true);
      const lines = formatTable([{ header: 'A' }, { header: 'B' }], [[style('red', 'xx'), 'y'], ['xxxx', 'z']], { style });
      expect(lines[0]).to.equal(`${style('bold', 'A')}     ${style('bold', 'B')}`);
      expect(lines[1]).to.equal(`${style('red', 'xx')}    y`);
      expect(lines[2]).to.equal('xxxx  z');
    });

    it('returns just the header for no rows', () => {
      expect(formatTable([{ header: 'ID' }, { header: 'ADDRESS' }], [])).to.deep.equal(['ID  ADDRESS']);
    });
  });

  describe('formatPairs', () => {
    it('aligns values after the longest label', () => {
      expect(formatPairs([['state', 'listening'], ['packets/s', 'in 1.0']])).to.deep.equal(['state      listening', 'packets/s  in 1.0']);
    });
  });
});
