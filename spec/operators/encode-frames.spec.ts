import { expect } from 'chai';
import { map } from 'rxjs';
import { FrameTooLargeError } from '../../lib/errors.js';
import { decodeFrames } from '../../lib/operators/decode-frames.js';
import { encodeFrames } from '../../lib/operators/encode-frames.js';
import { countingSource, standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

describe('operators/encodeFrames', () => {
  describe('#encodeFrames', () => {
    it('prefixes each payload with its big-endian length', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c-|', { a: bytes('41'), b: bytes(''), c: bytes('68656c6c6f') });
        expectObservable(source.pipe(encodeFrames())).toBe('-x-y-z-|', {
          x: bytes('0000000141'),
          y: bytes('00000000'),
          z: bytes('0000000568656c6c6f'),
        });
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });

    it('errors with FrameTooLargeError and unsubscribes the source when a payload exceeds the limit', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c-|', { a: bytes('4142'), b: bytes('414243'), c: bytes('41') });
        expectObservable(source.pipe(encodeFrames({ maxFrameBytes: 2 }))).toBe(
          '-x-#',
          { x: bytes('00000002 4142') },
          new FrameTooLargeError(3, 2),
        );
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('accepts a payload of exactly the default 1 MiB limit and rejects one byte more', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const limit = 1024 * 1024;
        const source = cold('-a-b-|', { a: new Uint8Array(limit), b: new Uint8Array(limit + 1) });
        const lengths = source.pipe(
          encodeFrames(),
          map((frame) => [frame.length, Buffer.from(frame).readUInt32BE(0)]),
        );
        expectObservable(lengths).toBe('-x-#', { x: [limit + 4, limit] }, new FrameTooLargeError(limit + 1, limit));
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('stops a synchronous source when a payload is too large', () => {
      const { source, pulled } = countingSource([bytes('414243')], 1000);
      let error: unknown;
      source.pipe(encodeFrames({ maxFrameBytes: 2 })).subscribe({ error: (err: unknown) => (error = err) });
      expect(error).to.be.instanceOf(FrameTooLargeError);
      expect(error).to.include({ code: 'ERR_FRAME_TOO_LARGE', declared: 3, limit: 2 });
      expect(pulled()).to.equal(1);
    });

    it('is undone by decodeFrames', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const payloads = { a: bytes('41'), b: bytes(''), c: bytes('00ff00ff') };
        expectObservable(cold('-a-b-c-|', payloads).pipe(encodeFrames(), decodeFrames())).toBe('-a-b-c-|', payloads);
      });
    });

    standardBattery(() => encodeFrames(), { a: bytes('41'), b: bytes(''), A: bytes('0000000141'), B: bytes('00000000') });
  });
});
