import { expect } from 'chai';
import { formatBytes, formatData, formatDuration, formatRate, shortId } from '../../lib/cli/format.js';
import { colorEnabled, createStyler, visibleWidth } from '../../lib/cli/style.js';

describe('format', () => {
  it('shortId keeps the first 8 characters of a token', () => {
    expect(shortId('0123456789abcdef')).to.equal('01234567');
  });

  it('formatDuration shows the two largest units', () => {
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(42_999)).to.equal('42s');
    expect(formatDuration(185_000)).to.equal('3m 05s');
    expect(formatDuration(2 * 3600_000 + 7 * 60_000)).to.equal('2h 07m');
    expect(formatDuration(28 * 3600_000)).to.equal('1d 04h');
    expect(formatDuration(-5)).to.equal('0s');
  });

  it('formatBytes uses binary units', () => {
    expect(formatBytes(512)).to.equal('512 B');
    expect(formatBytes(1536)).to.equal('1.5 KiB');
    expect(formatBytes(3 * 1024 * 1024)).to.equal('3.0 MiB');
  });

  it('formatRate keeps one decimal', () => {
    expect(formatRate(2)).to.equal('2.0');
    expect(formatRate(0.25)).to.equal('0.3');
  });

  it('formatData prints compact JSON and cuts it', () => {
    expect(formatData({ a: [1, 2] })).to.equal('{"a":[1,2]}');
    expect(formatData(undefined)).to.equal('');
    expect(formatData('x'.repeat(10), 5)).to.equal('"xxx…');
  });
});

describe('style', () => {
  const tty = Object.assign(process.stdout, {}) as NodeJS.WritableStream;
  const fakeTty = { isTTY: true } as unknown as NodeJS.WritableStream;
  const pipe = { isTTY: false } as unknown as NodeJS.WritableStream;

  it('colours a TTY while NO_COLOR is unset or empty', () => {
    expect(colorEnabled(fakeTty, {})).to.equal(true);
    expect(colorEnabled(fakeTty, { NO_COLOR: '' })).to.equal(true);
  });

  it('does not colour with NO_COLOR set or off a TTY', () => {
    expect(colorEnabled(fakeTty, { NO_COLOR: '1' })).to.equal(false);
    expect(colorEnabled(pipe, {})).to.equal(false);
    expect(colorEnabled(tty, { NO_COLOR: '1' })).to.equal(false);
  });

  it('styles through styleText only when enabled', () => {
    expect(createStyler(false)('red', 'x')).to.equal('x');
    expect(createStyler(true)('red', 'x')).to.equal('\u001b[31mx\u001b[39m');
  });

  it('measures width without escapes', () => {
    expect(visibleWidth(createStyler(true)('bold', 'abc'))).to.equal(3);
    expect(visibleWidth('…')).to.equal(1);
  });
});
