import { expect } from 'chai';
import { Subject } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { formatPacketLine, LogFilter, rateLimitLines } from '../../lib/cli/log.js';
import { PacketLog } from '../../lib/cli/packet-log.js';
import type { LoggedPacket } from '../../lib/cli/log.js';
import { createStyler } from '../../lib/cli/style.js';
import { testScheduler } from '../helpers/scheduler.js';

const plain = createStyler(false);

describe('log', () => {
  describe('rateLimitLines', () => {
    let scheduler: TestScheduler;
    beforeEach(() => {
      scheduler = testScheduler();
    });

    it('passes lines through while under the cap', () =>
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('  -a-b------c-|');
        const expected = '    -a-b------c-|';
        expectObservable(source.pipe(rateLimitLines({ maxLines: 2, windowMs: 5, scheduler }))).toBe(expected);
        expectSubscriptions(source.subscriptions).toBe('^-----------!');
      }));

    it('holds back lines over the cap and summarises them when the window ends', () =>
      scheduler.run(({ hot, expectObservable }) => {
        const source = hot('-abcd-------e-|');
        const expected = '  -ab---s-----e-|';
        expectObservable(source.pipe(rateLimitLines({ maxLines: 2, windowMs: 5, scheduler }))).toBe(expected, {
          a: 'a',
          b: 'b',
          e: 'e',
          s: '… 2 more',
        });
      }));

    it('uses the given summary text', () =>
      scheduler.run(({ hot, expectObservable }) => {
        const source = hot('-abc---|');
        expectObservable(source.pipe(rateLimitLines({ maxLines: 1, windowMs: 3, scheduler, summary: (n) => `+${n}` }))).toBe('-a--s--|', {
          a: 'a',
          s: '+2',
        });
      }));

    it('flushes the summary when the source completes', () =>
      scheduler.run(({ hot, expectObservable }) => {
        const source = hot('-abc|');
        expectObservable(source.pipe(rateLimitLines({ maxLines: 1, windowMs: 100, scheduler }))).toBe('-a--(s|)', { a: 'a', s: '… 2 more' });
      }));

    it('flushes the summary before passing on an error', () =>
      scheduler.run(({ hot, expectObservable }) => {
        const source = hot('-ab#');
        expectObservable(source.pipe(rateLimitLines({ maxLines: 1, windowMs: 100, scheduler }))).toBe('-a-(s#)', { a: 'a', s: '… 1 more' });
      }));

    it('stops its window timer on early unsubscribe', () =>
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-abc----d-|');
        expectObservable(source.pipe(rateLimitLines({ maxLines: 1, windowMs: 5, scheduler })), '^--!').toBe('-a--');
        expectSubscriptions(source.subscriptions).toBe('^--!');
      }));

    it('keeps separate windows per subscription', () =>
      scheduler.run(({ cold, expectObservable }) => {
        const limited = cold('ab|').pipe(rateLimitLines({ maxLines: 1, windowMs: 5, scheduler }));
        expectObservable(limited).toBe('a-(s|)', { a: 'a', s: '… 1 more' });
        expectObservable(limited).toBe('a-(s|)', { a: 'a', s: '… 1 more' });
      }));
  });

  describe('LogFilter', () => {
    it('is off at first', () => {
      const filter = new LogFilter();
      expect(filter.active).to.equal(false);
      expect(filter.accepts('chat')).to.equal(false);
      expect(filter.describe()).to.equal('log is off');
    });

    it('"on" with no actions accepts everything', () => {
      const filter = new LogFilter();
      filter.on();
      expect(filter.accepts('chat')).to.equal(true);
      expect(filter.describe()).to.equal('log is on for every action');
    });

    it('"on a b" accepts exactly those', () => {
      const filter = new LogFilter();
      filter.on(['a', 'b']);
      expect(filter.accepts('a')).to.equal(true);
      expect(filter.accepts('c')).to.equal(false);
      expect(filter.describe()).to.equal('log is on for a, b');
    });

    it('"off a" hides a from everything', () => {
      const filter = new LogFilter();
      filter.on();
      filter.off(['a']);
      expect(filter.accepts('a')).to.equal(false);
      expect(filter.accepts('b')).to.equal(true);
      expect(filter.describe()).to.equal('log is on for every action except a');
    });

    it('turns off once the last listed action is removed', () => {
      const filter = new LogFilter();
      filter.on(['a']);
      filter.off(['a']);
      expect(filter.active).to.equal(false);
    });

    it('"off" stops everything', () => {
      const filter = new LogFilter();
      filter.on(['a']);
      filter.off();
      expect(filter.accepts('a')).to.equal(false);
    });
  });

  describe('formatPacketLine', () => {
    it('prints time, sender, action and data', () => {
      const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
      expect(formatPacketLine({ time, from: 'a1b2c3d4 127.0.0.1:5000', action: 'chat', data: { text: 'hi' } }, plain)).to.equal(
        '03:04:05.006 ← a1b2c3d4 127.0.0.1:5000 chat {"text":"hi"}',
      );
    });

    it('cuts long data', () => {
      const line = formatPacketLine({ time: 0, from: 'server', action: 'big', data: 'x'.repeat(1000) }, plain);
      expect(line.length).to.be.lessThan(240);
      expect(line.endsWith('…')).to.equal(true);
    });
  });

  describe('PacketLog', () => {
    it('prints only while on, only what the filter accepts', () => {
      const source = new Subject<LoggedPacket>();
      const lines: string[] = [];
      const log = new PacketLog(source, (line) => lines.push(line), plain);
      source.next({ time: 0, from: 'x', action: 'a', data: 1 });
      log.on(['a']);
      source.next({ time: 0, from: 'x', action: 'a', data: 2 });
      source.next({ time: 0, from: 'x', action: 'b', data: 3 });
      log.off();
      source.next({ time: 0, from: 'x', action: 'a', data: 4 });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/ a 2$/);
      expect(source.observed).to.equal(false);
    });
  });
});
