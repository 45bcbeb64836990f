import { expect } from 'chai';
import fc from 'fast-check';
import type { TestScheduler } from 'rxjs/testing';
import { HeartbeatGroup, HeartbeatMonitor, type HeartbeatListener } from '../../lib/liveness/heartbeat-monitor.js';
import { testScheduler } from '../helpers/scheduler.js';

const TIMING = { intervalMs: 10, timeoutMs: 4 };

/** One connection's life: when it starts, when the peer shows activity, when it stops. */
interface Life {
  startAt: number;
  activityAt: number[];
  stopAt: number | null;
}

/**
 * Runs the lives on a virtual clock, with a monitor of its own each or all in one group, and returns
 * what the listeners heard, as `time:member:kind`, in time order. Starts fall on even times and
 * activity and stops on odd ones, so that no two of them share an instant with a ping or a deadline.
 */
function run(lives: Life[], grouped: boolean, until = 200): string[] {
  const scheduler = testScheduler();
  const heard: Array<[number, number, string]> = [];
  scheduler.run(({ flush }) => {
    const group = grouped ? new HeartbeatGroup(TIMING, scheduler) : null;
    lives.forEach((life, member) => {
      const listener: HeartbeatListener = {
        onHeartbeatPing: () => heard.push([scheduler.now(), member, 'ping']),
        onHeartbeatTimeout: () => heard.push([scheduler.now(), member, 'timeout']),
      };
      const monitor = group ? group.monitor(listener) : new HeartbeatMonitor(TIMING, scheduler, listener);
      scheduler.schedule(() => monitor.start(), life.startAt);
      for (const at of life.activityAt) scheduler.schedule(() => monitor.activity(), at);
      if (life.stopAt !== null) scheduler.schedule(() => monitor.stop(), life.stopAt);
      scheduler.schedule(() => monitor.stop(), until);
    });
    flush();
  });
  heard.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return heard.map(([at, member, kind]) => `${at}:${member}:${kind}`);
}

const lifeArb: fc.Arbitrary<Life> = fc.record({
  startAt: fc.integer({ min: 0, max: 40 }).map((n) => 2 * n),
  activityAt: fc.array(fc.integer({ min: 0, max: 99 }).map((n) => 2 * n + 1), { maxLength: 12 }),
  stopAt: fc.option(fc.integer({ min: 0, max: 99 }).map((n) => 2 * n + 1), { nil: null }),
});

describe('HeartbeatGroup', () => {
  let scheduler: TestScheduler;

  beforeEach(() => {
    scheduler = testScheduler();
  });

  it('pings and times out every member exactly when a monitor of its own would', () => {
    fc.assert(
      fc.property(fc.array(lifeArb, { minLength: 1, maxLength: 6 }), (lives) => {
        expect(run(lives, true)).to.deep.equal(run(lives, false));
      }),
      { numRuns: 300 },
    );
  });

  it('runs any number of members on one scheduled action, and none once every member has stopped', () => {
    scheduler.run(() => {
      const group = new HeartbeatGroup(TIMING, scheduler);
      const listener: HeartbeatListener = { onHeartbeatPing: () => undefined, onHeartbeatTimeout: () => undefined };
      const monitors = [group.monitor(listener), group.monitor(listener), group.monitor(listener)];
      for (const monitor of monitors) monitor.start();
      expect(scheduler.actions).to.have.length(1);
      expect(group.size).to.equal(3);
      for (const monitor of monitors) monitor.stop();
      expect(group.size).to.equal(0);
      expect(scheduler.actions).to.have.length(0);
    });
  });

  it('lets a listener stop its own monitor, or another, while being pinged', () => {
    const heard: string[] = [];
    scheduler.run(({ flush }) => {
      const group = new HeartbeatGroup(TIMING, scheduler);
      let second: HeartbeatMonitor | null = null;
      const first = group.monitor({
        onHeartbeatPing: () => {
          heard.push(`first@${scheduler.now()}`);
          first.stop();
          second?.stop();
        },
        onHeartbeatTimeout: () => heard.push('first timeout'),
      });
      second = group.monitor({ onHeartbeatPing: () => heard.push(`second@${scheduler.now()}`), onHeartbeatTimeout: () => heard.push('second timeout') });
      first.start();
      second.start();
      flush();
    });
    expect(heard).to.deep.equal(['first@10']);
  });

  it('refuses the timings a monitor refuses', () => {
    expect(() => new HeartbeatGroup({ intervalMs: 0, timeoutMs: 4 }, scheduler)).to.throw(RangeError);
    expect(() => new HeartbeatGroup({ intervalMs: 10, timeoutMs: Number.POSITIVE_INFINITY }, scheduler)).to.throw(RangeError);
  });
});
