import { expect } from 'chai';
import type { TestScheduler } from 'rxjs/testing';
import { HeartbeatTimeoutError } from '../../lib/errors.js';
import { HeartbeatMonitor, type HeartbeatListener } from '../../lib/liveness/heartbeat-monitor.js';
import { testScheduler } from '../helpers/scheduler.js';

describe('HeartbeatMonitor', () => {
  let scheduler: TestScheduler;
  let events: string[];
  let listener: HeartbeatListener;

  beforeEach(() => {
    scheduler = testScheduler();
    events = [];
    listener = {
      onHeartbeatPing: () => events.push(`ping@${scheduler.now()}`),
      onHeartbeatTimeout: (error) => events.push(`timeout@${scheduler.now()}:${error.code}:${error.timeoutMs}`),
    };
  });

  it('pings every interval and times out timeoutMs after the first unanswered ping', () => {
    scheduler.run(({ flush }) => {
      const monitor = new HeartbeatMonitor({ intervalMs: 10, timeoutMs: 4 }, scheduler, listener);
      monitor.start();
      scheduler.schedule(() => monitor.activity(), 12);
      flush();
    });
    expect(events).to.deep.equal(['ping@10', 'ping@20', 'timeout@24:ERR_HEARTBEAT_TIMEOUT:4']);
  });

  it('keeps one scheduled action for its whole life', () => {
    scheduler.run(() => {
      const monitor = new HeartbeatMonitor({ intervalMs: 10, timeoutMs: 4 }, scheduler, listener);
      monitor.start();
      expect(scheduler.actions).to.have.length(1);
      monitor.stop();
      expect(scheduler.actions).to.have.length(0);
    });
  });

  it('stops pinging once stopped, and ignores a second start', () => {
    scheduler.run(({ flush }) => {
      const monitor = new HeartbeatMonitor({ intervalMs: 10, timeoutMs: 40 }, scheduler, listener);
      monitor.start();
      monitor.start();
      scheduler.schedule(() => monitor.stop(), 25);
      flush();
    });
    expect(events).to.deep.equal(['ping@10', 'ping@20']);
  });

  it('rejects timings Node would turn into 1 ms timers', () => {
    for (const timing of [
      { intervalMs: 0, timeoutMs: 1 },
      { intervalMs: 1, timeoutMs: Number.POSITIVE_INFINITY },
      { intervalMs: Number.NaN, timeoutMs: 1 },
    ]) {
      expect(() => new HeartbeatMonitor(timing, scheduler, listener)).to.throw(RangeError);
    }
    expect(new HeartbeatTimeoutError(4).code).to.equal('ERR_HEARTBEAT_TIMEOUT');
  });
});
