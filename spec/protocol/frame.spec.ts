import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { DEFAULTS } from '../../lib/defaults.js';
import { FrameTooLargeError, IncompleteFrameError, PnetworkError } from '../../lib/errors.js';
import {
  encodeFrame,
  encodeTextFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_DECLARABLE_LENGTH,
} from '../../lib/protocol/frame.js';

/**
 * Bytes from hex, ignoring whitespace, in an ArrayBuffer of their own: small Buffers share Node's pool,
 * which would make `.buffer` identity checks meaningless.
 */
function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** Reads a hex fixture from spec/fixtures/frames. */
function fixture(name: string): Uint8Array {
  return bytes(readFileSync(new URL(`../fixtures/frames/${name}.hex`, import.meta.url), 'utf8'));
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Pushes every chunk and returns the payloads, as hex, in the order they were emitted. */
function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) decoder.push(chunk, (payload) => out.push(hex(payload)));
  return out;
}

/** Calls `fn` and returns what it threw; fails when it does not throw. */
function caught(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  expect.fail('expected a throw');
}

describe('protocol/frame', () => {
  describe('constants', () => {
    it('has a 4-byte header that declares at most 0xffffffff', () => {
      expect(FRAME_HEADER_BYTES).to.equal(4);
      expect(MAX_DECLARABLE_LENGTH).to.equal(0xffff_ffff);
    });
  });

  describe('#encodeFrame', () => {
    it('prefixes the payload with its big-endian length', () => {
      expect(hex(encodeFrame(bytes('41')))).to.equal('0000000141');
      expect(hex(encodeFrame(Buffer.from('hello')))).to.equal('0000000568656c6c6f');
    });

    it('encodes an empty payload as a bare zero header', () => {
      expect(hex(encodeFrame(new Uint8Array(0)))).to.equal(hex(fixture('empty')));
    });

    it('writes lengths above 2^24 big-endian', () => {
      const frame = encodeFrame(new Uint8Array(0x01_02_03));
      expect(hex(frame.subarray(0, 4))).to.equal('00010203');
      expect(frame.length).to.equal(4 + 0x01_02_03);
    });

    it('returns a new buffer that does not alias the payload', () => {
      const payload = Buffer.from('abc');
      const frame = encodeFrame(payload);
      payload[0] = 0x7a;
      expect(frame.subarray(4).toString()).to.equal('abc');
    });

    it('accepts a payload exactly at the limit', () => {
      expect(encodeFrame(new Uint8Array(8), 8).length).to.equal(12);
    });

    it('throws FrameTooLargeError when the payload exceeds the limit', () => {
      const err = caught(() => encodeFrame(new Uint8Array(9), 8));
      expect(err).to.be.instanceOf(FrameTooLargeError);
      expect(err).to.include({ code: 'ERR_FRAME_TOO_LARGE', declared: 9, limit: 8 });
    });
  });

  describe('#encodeTextFrame', () => {
    it('frames text as UTF-8 with its byte length', () => {
      expect(hex(encodeTextFrame('A'))).to.equal('0000000141');
      // "é" is two UTF-8 bytes, "€" three, "😀" four.
      const frame = encodeTextFrame('é€😀');
      expect(frame.readUInt32BE(0)).to.equal(9);
      expect(frame.subarray(4).toString('utf8')).to.equal('é€😀');
    });

    it('produces the same bytes as encodeFrame over the UTF-8 encoding', () => {
      const text = '{"action":"chat","data":"ünïcødé"}';
      expect(encodeTextFrame(text)).to.deep.equal(encodeFrame(Buffer.from(text, 'utf8')));
    });

    it('encodes an empty string as a bare zero header', () => {
      expect(hex(encodeTextFrame(''))).to.equal('00000000');
    });

    it('measures the limit in bytes, not characters', () => {
      expect(encodeTextFrame('€', 3).length).to.equal(7);
      const err = caught(() => encodeTextFrame('€€', 5));
      expect(err).to.be.instanceOf(FrameTooLargeError);
      expect(err).to.include({ code: 'ERR_FRAME_TOO_LARGE', declared: 6, limit: 5 });
    });
  });

  describe('FrameDecoder', () => {
    describe('#push', () => {
      it('decodes a single frame from a hex fixture', () => {
        expect(decodeAll(new FrameDecoder(16), [fixture('single-a')])).to.deep.equal(['41']);
      });

      it('decodes many frames in one chunk, in order', () => {
        expect(decodeAll(new FrameDecoder(16), [fixture('hello-empty-world')])).to.deep.equal([
          '68656c6c6f',
          '',
          '776f726c64',
        ]);
      });

      it('decodes frames fed one byte at a time', () => {
        const input = fixture('hello-empty-world');
        const decoder = new FrameDecoder(16);
        const out: string[] = [];
        const emittedAfter: number[] = [];
        for (let i = 0; i < input.length; i++) {
          decoder.push(input.subarray(i, i + 1), (payload) => {
            out.push(hex(payload));
            emittedAfter.push(i);
          });
        }
        expect(out).to.deep.equal(['68656c6c6f', '', '776f726c64']);
        // Each frame is emitted as soon as its last byte arrives, not later.
        expect(emittedAfter).to.deep.equal([8, 12, 21]);
        expect(decoder.buffered).to.equal(0);
      });

      it('decodes the same frames for every split of the input into two chunks', () => {
        const input = fixture('hello-empty-world');
        for (let cut = 0; cut <= input.length; cut++) {
          const chunks = [input.subarray(0, cut), input.subarray(cut)];
          expect(decodeAll(new FrameDecoder(16), chunks), `cut at ${cut}`).to.deep.equal([
            '68656c6c6f',
            '',
            '776f726c64',
          ]);
        }
      });

      it('emits a zero-length frame as an empty payload', () => {
        const payloads: Uint8Array[] = [];
        new FrameDecoder(16).push(fixture('empty'), (p) => payloads.push(p));
        expect(payloads).to.have.length(1);
        expect(payloads[0]!.length).to.equal(0);
      });

      it('emits nothing for an empty chunk', () => {
        const decoder = new FrameDecoder(16);
        expect(decodeAll(decoder, [new Uint8Array(0)])).to.deep.equal([]);
        expect(decoder.buffered).to.equal(0);
      });

      it('counts a partial header and a partial payload as buffered', () => {
        const decoder = new FrameDecoder(16);
        decoder.push(bytes('0000'), () => expect.fail('no frame yet'));
        expect(decoder.buffered).to.equal(2);
        decoder.push(bytes('000568'), () => expect.fail('no frame yet'));
        expect(decoder.buffered).to.equal(5);
        decoder.push(bytes('6565'), () => expect.fail('no frame yet'));
        expect(decoder.buffered).to.equal(7);
      });

      it('emits FrameTooLargeError from the header alone, before any payload arrives', () => {
        const decoder = new FrameDecoder(DEFAULTS.maxFrameBytes);
        const err = caught(() => decoder.push(fixture('over-default-limit-header'), () => expect.fail('no frame')));
        expect(err).to.be.instanceOf(FrameTooLargeError);
        expect(err).to.be.instanceOf(PnetworkError);
        expect(err).to.include({ code: 'ERR_FRAME_TOO_LARGE', declared: 1024 * 1024 + 1, limit: 1024 * 1024 });
        expect(decoder.buffered).to.equal(0);
      });

      it('emits FrameTooLargeError when the oversized header arrives split across chunks', () => {
        const decoder = new FrameDecoder(4);
        decoder.push(bytes('00'), () => expect.fail('no frame'));
        decoder.push(bytes('0000'), () => expect.fail('no frame'));
        const err = caught(() => decoder.push(bytes('05'), () => expect.fail('no frame')));
        expect(err).to.be.instanceOf(FrameTooLargeError);
        expect(err).to.include({ code: 'ERR_FRAME_TOO_LARGE', declared: 5, limit: 4 });
      });

      it('reads the largest declarable length as unsigned', () => {
        const err = caught(() => new FrameDecoder(DEFAULTS.maxFrameBytes).push(fixture('max-declarable-header'), () => {}));
        expect(err).to.be.instanceOf(FrameTooLargeError);
        expect(err).to.include({ declared: 0xffff_ffff, limit: DEFAULTS.maxFrameBytes });
      });

      it('reads a header with the top bit set as unsigned when split across chunks', () => {
        const decoder = new FrameDecoder(16);
        decoder.push(bytes('80'), () => {});
        const err = caught(() => decoder.push(bytes('000000'), () => {}));
        expect(err).to.include({ declared: 0x8000_0000 });
      });

      it('emits the frames before an oversized header, then throws', () => {
        const out: string[] = [];
        const err = caught(() =>
          new FrameDecoder(2).push(bytes('0000000141 00000003'), (p) => out.push(hex(p))),
        );
        expect(out).to.deep.equal(['41']);
        expect(err).to.be.instanceOf(FrameTooLargeError);
      });

      it('rethrows the same error on every push after a FrameTooLargeError', () => {
        const decoder = new FrameDecoder(0);
        const first = caught(() => decoder.push(fixture('single-a'), () => {}));
        const second = caught(() => decoder.push(fixture('empty'), () => expect.fail('decoder is unusable')));
        expect(second).to.equal(first);
      });

      it('accepts a frame exactly at the limit', () => {
        const limit = DEFAULTS.maxFrameBytes;
        const payload = Buffer.alloc(limit, 0x61);
        const frame = encodeFrame(payload);
        const decoder = new FrameDecoder(limit);
        const lengths: number[] = [];
        decoder.push(frame.subarray(0, 4), (p) => lengths.push(p.length));
        decoder.push(frame.subarray(4), (p) => lengths.push(p.length));
        expect(lengths).to.deep.equal([limit]);
      });

      it('accepts a zero-length frame with a zero limit', () => {
        expect(decodeAll(new FrameDecoder(0), [fixture('empty'), fixture('empty')])).to.deep.equal(['', '']);
      });

      it('hands out a view of the chunk when the payload lies whole inside it', () => {
        const chunk = fixture('hello-empty-world');
        const payloads: Uint8Array[] = [];
        new FrameDecoder(16).push(chunk, (p) => payloads.push(p));
        expect(payloads).to.have.length(3);
        for (const payload of payloads) expect(payload.buffer).to.equal(chunk.buffer);
        expect(payloads[0]!.byteOffset).to.equal(chunk.byteOffset + 4);
        expect(payloads[2]!.byteOffset).to.equal(chunk.byteOffset + 17);
      });

      it('hands out a view when only the header was split from the payload', () => {
        const input = fixture('single-a');
        const decoder = new FrameDecoder(16);
        decoder.push(input.subarray(0, 2), () => expect.fail('no frame yet'));
        const rest = input.slice(2);
        const payloads: Uint8Array[] = [];
        decoder.push(rest, (p) => payloads.push(p));
        expect(payloads[0]!.buffer).to.equal(rest.buffer);
      });

      it('assembles a split payload into one buffer of exactly the declared size', () => {
        const frame = encodeFrame(Buffer.from('hello world'));
        const decoder = new FrameDecoder(64);
        const chunks = [frame.subarray(0, 7), frame.subarray(7, 10), frame.subarray(10)].map((c) => new Uint8Array(c));
        const payloads: Uint8Array[] = [];
        for (const chunk of chunks) decoder.push(chunk, (p) => payloads.push(p));
        expect(payloads).to.have.length(1);
        const payload = payloads[0]!;
        expect(Buffer.from(payload).toString()).to.equal('hello world');
        expect(payload.byteLength).to.equal(11);
        for (const chunk of chunks) expect(payload.buffer).not.to.equal(chunk.buffer);
      });

      it('holds a split payload as views of its chunks and joins them once', () => {
        const first = bytes('0000000341');
        const decoder = new FrameDecoder(16);
        decoder.push(first, () => expect.fail('no frame yet'));
        const out: Uint8Array[] = [];
        const second = bytes('4243');
        decoder.push(second, (p) => out.push(p));
        expect(out.map(hex)).to.deep.equal(['414243']);
        expect(out[0]!.buffer).not.to.equal(first.buffer);
        expect(out[0]!.buffer).not.to.equal(second.buffer);
      });

      it('allocates nothing for a declared length until the bytes arrive', () => {
        // 200 decoders each told to expect 1 MiB: allocating up front would hold 200 MiB.
        const header = Buffer.from('00100000', 'hex');
        const before = process.memoryUsage().arrayBuffers;
        const decoders = Array.from({ length: 200 }, () => new FrameDecoder(1 << 20));
        for (const decoder of decoders) decoder.push(Buffer.concat([header, Buffer.from('ab', 'hex')]), () => expect.fail('no frame yet'));
        const grown = process.memoryUsage().arrayBuffers - before;
        expect(grown).to.be.below(16 * 1024 * 1024);
        expect(decoders[0]!.buffered).to.equal(5);
      });

      it('holds memory in proportion to the bytes that arrived when a payload trickles in as tiny pieces', () => {
        // 200 decoders each told to expect 1 MiB, then fed 100 one-byte pieces: assembling into a buffer of
        // the declared size once pieces pile up would hold 200 MiB for 20 KB received.
        const header = Buffer.from('00100000', 'hex');
        const before = process.memoryUsage().arrayBuffers;
        const decoders = Array.from({ length: 200 }, () => new FrameDecoder(1 << 20));
        for (const decoder of decoders) {
          decoder.push(header, () => expect.fail('no frame yet'));
          for (let i = 0; i < 100; i++) decoder.push(new Uint8Array([i]), () => expect.fail('no frame yet'));
        }
        const grown = process.memoryUsage().arrayBuffers - before;
        expect(grown).to.be.below(16 * 1024 * 1024);
        expect(decoders[0]!.buffered).to.equal(104);
        expect(decoders[0]!.heldBytes).to.be.at.most(2 * 1024);
      });

      it('never holds more than twice the payload bytes that arrived (or 1 KiB), whatever the split', () => {
        const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) & 0xff));
        const frame = encodeFrame(payload);
        let seed = 12345;
        const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
        for (let round = 0; round < 20; round++) {
          const decoder = new FrameDecoder(1 << 20);
          const out: Uint8Array[] = [];
          let at = 0;
          while (at < frame.length) {
            const size = 1 + (next() % (round < 10 ? 8 : 3000));
            decoder.push(frame.subarray(at, at + size), (p) => out.push(p));
            at += size;
            if (out.length === 0) expect(decoder.heldBytes).to.be.at.most(Math.max(1024, 2 * (decoder.buffered - FRAME_HEADER_BYTES)));
          }
          expect(out).to.have.length(1);
          expect(Buffer.from(out[0]!).equals(payload)).to.equal(true);
          expect(out[0]!.byteLength).to.equal(payload.length);
          expect(decoder.heldBytes).to.equal(0);
        }
      });

      it('assembles a payload that trickles in as many tiny chunks, byte for byte', () => {
        const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
        const frame = encodeFrame(payload);
        const decoder = new FrameDecoder(1024);
        const out: Uint8Array[] = [];
        for (let i = 0; i < frame.length; i++) decoder.push(frame.subarray(i, i + 1), (p) => out.push(p));
        expect(out).to.have.length(1);
        expect(Buffer.from(out[0]!).equals(payload)).to.equal(true);
        expect(decoder.buffered).to.equal(0);
      });

      it('decodes 12,000 pipelined frames in one chunk without recursing', () => {
        const count = 12_000;
        const frames: Buffer[] = [];
        for (let i = 0; i < count; i++) frames.push(encodeFrame(Buffer.from([i & 0xff, (i >> 8) & 0xff])));
        const chunk = Buffer.concat(frames);
        let seen = 0;
        new FrameDecoder(16).push(chunk, (p) => {
          expect(p[0]! | (p[1]! << 8)).to.equal(seen);
          seen++;
        });
        expect(seen).to.equal(count);
      });

      it('decodes 12,000 pipelined zero-length frames in one chunk', () => {
        let seen = 0;
        new FrameDecoder(0).push(new Uint8Array(4 * 12_000), () => seen++);
        expect(seen).to.equal(12_000);
      });

      it('decodes a frame after a frame split across chunks in the same chunk', () => {
        expect(
          decodeAll(new FrameDecoder(16), [bytes('0000000241'), bytes('42 0000000143')]),
        ).to.deep.equal(['4142', '43']);
      });
    });

    describe('#end', () => {
      it('succeeds at a frame boundary', () => {
        const decoder = new FrameDecoder(16);
        decodeAll(decoder, [fixture('single-a')]);
        expect(() => decoder.end()).not.to.throw();
      });

      it('succeeds on a decoder that never saw a byte', () => {
        expect(() => new FrameDecoder(16).end()).not.to.throw();
      });

      it('throws IncompleteFrameError when the stream ends mid-payload', () => {
        const decoder = new FrameDecoder(16);
        decodeAll(decoder, [fixture('truncated')]);
        const err = caught(() => decoder.end());
        expect(err).to.be.instanceOf(IncompleteFrameError);
        expect(err).to.be.instanceOf(PnetworkError);
        expect(err).to.include({ code: 'ERR_FRAME_INCOMPLETE', received: 7 });
      });

      it('throws IncompleteFrameError when the stream ends right after a complete header', () => {
        const decoder = new FrameDecoder(16);
        decodeAll(decoder, [bytes('00000005')]);
        expect(decoder.buffered).to.equal(4);
        const err = caught(() => decoder.end());
        expect(err).to.be.instanceOf(IncompleteFrameError);
        expect(err).to.include({ code: 'ERR_FRAME_INCOMPLETE', received: 4 });
      });

      it('throws IncompleteFrameError when the stream ends mid-header', () => {
        const decoder = new FrameDecoder(16);
        decodeAll(decoder, [bytes('000000')]);
        const err = caught(() => decoder.end());
        expect(err).to.be.instanceOf(IncompleteFrameError);
        expect(err).to.include({ code: 'ERR_FRAME_INCOMPLETE', received: 3 });
      });

      it('releases the partial frame so a second end succeeds', () => {
        const decoder = new FrameDecoder(16);
        decodeAll(decoder, [fixture('truncated')]);
        expect(() => decoder.end()).to.throw(IncompleteFrameError);
        expect(decoder.buffered).to.equal(0);
        expect(() => decoder.end()).not.to.throw();
      });
    });

    describe('#release', () => {
      it('drops a partial frame', () => {
        const decoder = new FrameDecoder(16);
        decodeAll(decoder, [fixture('truncated')]);
        expect(decoder.buffered).to.equal(7);
        decoder.release();
        expect(decoder.buffered).to.equal(0);
        expect(decodeAll(decoder, [fixture('single-a')])).to.deep.equal(['41']);
      });
    });

    describe('#maxFrameBytes', () => {
      it('exposes the limit it was built with', () => {
        expect(new FrameDecoder(123).maxFrameBytes).to.equal(123);
      });
    });
  });
});
