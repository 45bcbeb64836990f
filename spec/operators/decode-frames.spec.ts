import { expect } from 'chai';
import { from, take } from 'rxjs';
import sinon from 'sinon';
import { FrameTimeoutError, FrameTooLargeError, IncompleteFrameError } from '../../lib/errors.js';
import { decodeFrames } from '../../lib/operators/decode-frames.js';
import { FrameDecoder } from '../../lib/protocol/frame.js';
import { countingSource, standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';

/** Bytes from hex (whitespace ignored) in an ArrayBuffer of their own. */
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

/** "hello", "", "world" as three frames: 22 bytes. */
const THREE_FRAMES = bytes('0000000568656c6c6f 00000000 00000005776f726c64');
const PAYLOADS = { h: bytes('68656c6c6f'), e: bytes(''), w: bytes('776f726c64') };
/** Byte offsets at which each of THREE_FRAMES is complete. */
const FRAME_ENDS: [keyof typeof PAYLOADS, number][] = [
  ['h', 9],
  ['e', 13],
  ['w', 22],
];

/**
 * The expected marble when THREE_FRAMES is cut at `cuts` and chunk k arrives at frame 1 + 6k:
 * the frames a chunk completes are emitted, grouped, in its frame. Groups take as many frames as they
 * have characters, so chunks are 6 frames apart to leave room for "(hew)".
 */
function expectedMarble(cuts: number[]): string {
  const bounds = [...cuts, THREE_FRAMES.length];
  let marble = '';
  let start = 0;
  bounds.forEach((bound, k) => {
    const done = FRAME_ENDS.filter(([, end]) => end > start && end <= bound).map(([name]) => name);
    const token = done.length === 0 ? '' : done.length === 1 ? done[0]! : `(${done.join('')})`;
    marble = marble.padEnd(1 + 6 * k, '-') + token;
    start = bound;
  });
  return `${marble.padEnd(6 * bounds.length, '-')}|`;
}

/** The source marble for `count` chunks named a, b, c… arriving 6 frames apart. */
function chunkMarble(count: number): string {
  return `${Array.from({ length: count }, (_, k) => `-${String.fromCharCode(97 + k)}----`).join('')}|`;
}

describe('operators/decodeFrames', () => {
  afterEach(() => sinon.restore());

  describe('#decodeFrames with incompleteFrameTimeoutMs', () => {
    let scheduler: ReturnType<typeof testScheduler>;
    beforeEach(() => (scheduler = testScheduler()));

    it('errors with FrameTimeoutError when a started frame gets no more bytes for the timeout', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a', { a: bytes('0000000541') });
        const decoded = source.pipe(decodeFrames({ incompleteFrameTimeoutMs: 100, scheduler }));
        expectObservable(decoded).toBe('- 100ms #', undefined, new FrameTimeoutError(100, 5));
        expectSubscriptions(source.subscriptions).toBe('^ 100ms !');
      });
    });

    it('counts the timeout from the last bytes that arrived, so a frame that keeps moving is not cut', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-a 80ms b 80ms c 80ms d', { a: bytes('00000004'), b: bytes('41'), c: bytes('42'), d: bytes('4344') });
        const decoded = source.pipe(decodeFrames({ incompleteFrameTimeoutMs: 100, scheduler }));
        expectObservable(decoded).toBe('-- 80ms - 80ms - 80ms x', { x: bytes('41424344') });
      });
    });

    it('does not time out between frames, nor once the source completes at a boundary', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-a 500ms b 500ms |', { a: bytes('0000000141'), b: bytes('0000000142') });
        const decoded = source.pipe(decodeFrames({ incompleteFrameTimeoutMs: 100, scheduler }));
        expectObservable(decoded).toBe('-x 500ms y 500ms |', { x: bytes('41'), y: bytes('42') });
      });
    });

    it('times out a frame stalled inside its header, and a second frame that stalls after a good one', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const header = cold('-a', { a: bytes('0000') });
        expectObservable(header.pipe(decodeFrames({ incompleteFrameTimeoutMs: 50, scheduler }))).toBe('- 50ms #', undefined, new FrameTimeoutError(50, 2));
        const second = cold('-a 200ms b', { a: bytes('0000000141'), b: bytes('00000003') });
        expectObservable(second.pipe(decodeFrames({ incompleteFrameTimeoutMs: 50, scheduler }))).toBe('-x 200ms 50ms #', { x: bytes('41') }, new FrameTimeoutError(50, 4));
      });
    });

    it('leaves no timer behind on unsubscribe', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const source = cold('-a', { a: bytes('0000000541') });
        expectObservable(source.pipe(decodeFrames({ incompleteFrameTimeoutMs: 100, scheduler })), '^--!').toBe('----');
        flush();
        expect((scheduler as unknown as { actions: unknown[] }).actions).to.have.length(0);
      });
    });
  });

  describe('#decodeFrames', () => {
    it('emits the payload once a whole frame has arrived', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('--a--b--|', { a: bytes('0000'), b: bytes('000141') });
        expectObservable(source.pipe(decodeFrames())).toBe('-----x--|', { x: bytes('41') });
        expectSubscriptions(source.subscriptions).toBe('^-------!');
      });
    });

    it('emits every frame of one chunk in the same frame, in order', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const source = cold('-a------|', { a: THREE_FRAMES });
        expectObservable(source.pipe(decodeFrames())).toBe('-(hew)--|', PAYLOADS);
        expect(expectedMarble([])).to.equal('-(hew)|');
      });
    });

    it('emits the same payloads for chunks split at every offset', () => {
      for (let cut = 0; cut <= THREE_FRAMES.length; cut++) {
        testScheduler().run(({ cold, expectObservable }) => {
          const source = cold(chunkMarble(2), { a: THREE_FRAMES.subarray(0, cut), b: THREE_FRAMES.subarray(cut) });
          expectObservable(source.pipe(decodeFrames())).toBe(expectedMarble([cut]), PAYLOADS);
        });
      }
    });

    it('emits the same payloads for three chunks split at every pair of offsets', () => {
      for (let i = 0; i <= THREE_FRAMES.length; i++) {
        for (let j = i; j <= THREE_FRAMES.length; j++) {
          testScheduler().run(({ cold, expectObservable }) => {
            const source = cold(chunkMarble(3), {
              a: THREE_FRAMES.subarray(0, i),
              b: THREE_FRAMES.subarray(i, j),
              c: THREE_FRAMES.subarray(j),
            });
            expectObservable(source.pipe(decodeFrames())).toBe(expectedMarble([i, j]), PAYLOADS);
          });
        }
      }
    });

    it('emits the same payloads when fed one byte per frame', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const values: Record<string, Uint8Array> = {};
        let marble = '';
        let expected = '';
        for (let i = 0; i < THREE_FRAMES.length; i++) {
          const name = String.fromCharCode(65 + i);
          values[name] = THREE_FRAMES.subarray(i, i + 1);
          marble += name;
          const done = FRAME_ENDS.find(([, end]) => end === i + 1);
          expected += done ? done[0] : '-';
        }
        const source = cold(`${marble}|`, values);
        expectObservable(source.pipe(decodeFrames())).toBe(`${expected}|`, PAYLOADS);
      });
    });

    it('passes a source error through even mid-frame', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        const failure = new Error('socket reset');
        expectObservable(cold('--a--#', { a: bytes('000000') }, failure).pipe(decodeFrames())).toBe('-----#', {}, failure);
      });
    });

    it('errors with FrameTooLargeError and unsubscribes the source when a header exceeds the limit', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('--a--b--|', { a: bytes('00000005'), b: bytes('6868686868') });
        expectObservable(source.pipe(decodeFrames({ maxFrameBytes: 4 }))).toBe(
          '--#',
          {},
          new FrameTooLargeError(5, 4),
        );
        expectSubscriptions(source.subscriptions).toBe('^-!');
      });
    });

    it('emits the frames before an oversized header, then errors', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('--a--|', { a: bytes('0000000141 00000003 414141') });
        expectObservable(source.pipe(decodeFrames({ maxFrameBytes: 2 }))).toBe(
          '--(x#)',
          { x: bytes('41') },
          new FrameTooLargeError(3, 2),
        );
        expectSubscriptions(source.subscriptions).toBe('^-!');
      });
    });

    it('errors with FrameTooLargeError from the header alone under the default 1 MiB limit', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-|', { a: bytes('0010'), b: bytes('0001') });
        expectObservable(source.pipe(decodeFrames())).toBe('---#', {}, new FrameTooLargeError(1024 * 1024 + 1, 1024 * 1024));
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('accepts a header declaring exactly the default limit', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        // The header alone is accepted; ending there is an incomplete frame, not an oversized one.
        expectObservable(cold('-a-|', { a: bytes('00100000') }).pipe(decodeFrames())).toBe(
          '---#',
          {},
          new IncompleteFrameError(4),
        );
      });
    });

    it('errors with IncompleteFrameError when the source completes mid-frame', () => {
      testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b--|', { a: bytes('0000000141 0000'), b: bytes('0003 4142') });
        expectObservable(source.pipe(decodeFrames())).toBe('-x----#', { x: bytes('41') }, new IncompleteFrameError(6));
        expectSubscriptions(source.subscriptions).toBe('^-----!');
      });
    });

    it('releases a partial frame when unsubscribed', () => {
      const release = sinon.spy(FrameDecoder.prototype, 'release');
      testScheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold('-a---|', { a: bytes('000000') }).pipe(decodeFrames()), '^--!').toBe('----');
      });
      expect(release.called).to.equal(true);
    });

    it('completes on a source of empty chunks', () => {
      testScheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold('-a-a-|', { a: bytes('') }).pipe(decodeFrames())).toBe('-----|');
      });
    });

    it('stops emitting from a chunk of many frames when take(n) has enough', () => {
      const chunk = Buffer.concat(Array.from({ length: 12_000 }, () => Buffer.from('0000000141', 'hex')));
      const { source, pulled } = countingSource([chunk], 5);
      let count = 0;
      let completed = false;
      source.pipe(decodeFrames(), take(3)).subscribe({ next: () => count++, complete: () => (completed = true) });
      expect(count).to.equal(3);
      expect(completed).to.equal(true);
      expect(pulled()).to.equal(1);
    });

    it('stops a synchronous source when a frame is too large', () => {
      const { source, pulled } = countingSource([bytes('00000005')], 1000);
      let error: unknown;
      source.pipe(decodeFrames({ maxFrameBytes: 4 })).subscribe({ error: (err: unknown) => (error = err) });
      expect(error).to.be.instanceOf(FrameTooLargeError);
      expect(error).to.include({ code: 'ERR_FRAME_TOO_LARGE', declared: 5, limit: 4 });
      expect(pulled()).to.equal(1);
    });

    it('gives every subscription its own decoder', () => {
      testScheduler().run(({ hot, expectObservable }) => {
        const source = hot('-a-b-|', { a: bytes('0000'), b: bytes('000141') });
        const decoded = source.pipe(decodeFrames());
        expectObservable(decoded).toBe('---x-|', { x: bytes('41') });
        // A late subscriber sees 00 01 41 as the start of a header and ends mid-frame.
        expectObservable(decoded, '--^').toBe('-----#', {}, new IncompleteFrameError(3));
      });
    });

    it('decodes 12,000 pipelined frames from one chunk', () => {
      const chunk = Buffer.concat(Array.from({ length: 12_000 }, (_, i) => Buffer.from([0, 0, 0, 1, i & 0xff])));
      const seen: number[] = [];
      from([chunk]).pipe(decodeFrames()).subscribe((payload) => seen.push(payload[0]!));
      expect(seen).to.have.length(12_000);
      expect(seen.every((value, i) => value === (i & 0xff))).to.equal(true);
    });

    standardBattery(() => decodeFrames(), { a: bytes('0000000141'), b: bytes('0000000142'), A: bytes('41'), B: bytes('42') });
  });
});
