import { expect } from 'chai';
import { from, map, Observable, take } from 'rxjs';
import { FrameTooLargeError } from '../../lib/errors.js';
import { decodeFrames } from '../../lib/operators/decode-frames.js';
import { encodeFrames } from '../../lib/operators/encode-frames.js';
import { testScheduler } from '../helpers/scheduler.js';

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

/** A synchronous source of `count` copies of `value` that counts how many it produced. */
function countingSource<T>(value: T, count: number): { source: Observable<T>; pulled: () => number } {
  let pulled = 0;
  const source = new Observable<T>((subscriber) => {
    for (let i = 0; i < count && !subscriber.closed; i++) {
      pulled++;
      subscriber.next(value);
    }
    subscriber.complete();
  });
  return { source, pulled: () => pulled };
}

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

    it('passes a source error through', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('upstream failed');
        const source = cold('-a-#', { a: bytes('41') }, failure);
        expectObservable(source.pipe(encodeFrames())).toBe('-x-#', { x: bytes('0000000141') }, failure);
        expectSubscriptions(source.subscriptions).toBe('^--!');
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

    it('unsubscribes from the source when the result is unsubscribed early', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b--|', { a: bytes('41'), b: bytes('42') });
        expectObservable(source.pipe(encodeFrames()), '^--!').toBe('-x--', { x: bytes('0000000141') });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('completes on an empty source', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold<Uint8Array>('|');
        expectObservable(source.pipe(encodeFrames())).toBe('|');
        expectSubscriptions(source.subscriptions).toBe('(^!)');
      });
    });

    it('stays silent on a source that never emits', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold<Uint8Array>('-');
        expectObservable(source.pipe(encodeFrames())).toBe('-');
        expectSubscriptions(source.subscriptions).toBe('^');
      });
    });

    it('errors at once on a source that errors at once', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const failure = new Error('boom');
        expectObservable(cold<Uint8Array>('#', {}, failure).pipe(encodeFrames())).toBe('#', {}, failure);
      });
    });

    it('stops a synchronous source when take(n) has enough', () => {
      testScheduler().run(({ expectObservable }) => {
        const source = from([bytes('41'), bytes('42'), bytes('43')]);
        expectObservable(source.pipe(encodeFrames(), take(2))).toBe('(xy|)', {
          x: bytes('0000000141'),
          y: bytes('0000000142'),
        });
      });
      const { source, pulled } = countingSource(bytes('41'), 1000);
      let count = 0;
      source.pipe(encodeFrames(), take(2)).subscribe(() => count++);
      expect(count).to.equal(2);
      expect(pulled()).to.equal(2);
    });

    it('stops a synchronous source when a payload is too large', () => {
      const { source, pulled } = countingSource(bytes('414243'), 1000);
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
  });
});
