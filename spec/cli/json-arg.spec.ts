import { expect } from 'chai';
import { JsonArgumentError, parseJsonArgument } from '../../lib/cli/json-arg.js';

function errorOf(text: string): JsonArgumentError {
  try {
    parseJsonArgument(text);
  } catch (error) {
    expect(error).to.be.instanceOf(JsonArgumentError);
    return error as JsonArgumentError;
  }
  throw new Error(`'${text}' parsed`);
}

describe('json-arg', () => {
  describe('parseJsonArgument', () => {
    it('parses any JSON value', () => {
      expect(parseJsonArgument('{"x": 1, "y": [true, null]}')).to.deep.equal({ x: 1, y: [true, null] });
      expect(parseJsonArgument(' "text" ')).to.equal('text');
      expect(parseJsonArgument('42')).to.equal(42);
    });

    it('refuses a number too large for a double, anywhere in the value, instead of sending null', () => {
      expect(errorOf('1e999').message).to.equal('number out of range: 1e999 is beyond ±1.8e308 and would be sent as null');
      expect(errorOf('{"a": [1, -2e400]}').message).to.equal('number out of range: -2e400 is beyond ±1.8e308 and would be sent as null');
      expect(parseJsonArgument('1e308')).to.equal(1e308);
    });

    it('reads an empty argument as null', () => {
      expect(parseJsonArgument('')).to.equal(null);
      expect(parseJsonArgument('   ')).to.equal(null);
    });

    it('explains bare property names with the column', () => {
      const error = errorOf('{x:1}');
      expect(error.column).to.equal(2);
      expect(error.message).to.equal(`malformed JSON at column 2 (near 'x:1}'): expected property name or '}' — property names need double quotes, e.g. {"x":1}`);
    });

    it('explains single quotes', () => {
      expect(errorOf("'hi'").message).to.match(/^malformed JSON: unexpected '''? — JSON takes double quotes/);
    });

    it('suggests quoting a bare word', () => {
      expect(errorOf('hello').message).to.equal(`malformed JSON: unexpected 'h' — to send a string, quote it: "hello"`);
    });

    it('spots a trailing comma', () => {
      expect(errorOf('[1,2,]').message).to.include('remove the trailing comma');
    });

    it('explains an unfinished object', () => {
      const error = errorOf('{"x":1');
      expect(error.message).to.match(/^malformed JSON at column 7 \(near ''\): expected ',' or '}' after property value$/);
    });

    it('refuses JSON nested past maxDepth, however deep, before anything walks it', () => {
      for (const depth of [65, 100_000]) {
        const error = errorOf(`${'['.repeat(depth)}${']'.repeat(depth)}`);
        expect(error.message, String(depth)).to.equal('JSON nests deeper than 64 levels (maxDepth): the peer would refuse the packet');
      }
      expect(parseJsonArgument(`${'['.repeat(64)}${']'.repeat(64)}`)).to.be.an('array');
    });

    it('does not echo a long bare word back whole', () => {
      expect(errorOf('x'.repeat(100_000)).message.length).to.be.below(200);
    });

    it('is always one line', () => {
      for (const text of ['{', '"abc', '1 2', '{"a":1}}', 'nul', '[', '{"a" 1}']) {
        expect(errorOf(text).message, text).not.to.include('\n');
        expect(errorOf(text).message, text).to.match(/^malformed JSON/);
      }
    });
  });
});
