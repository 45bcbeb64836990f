import { expect } from 'chai';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { EngineDeadlines } from '../../lib/cluster/engine-deadlines.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { flushMicrotasks } from '../helpers/wait.js';

/** The clock, counting the timers scheduled on it. */
function counting(clock: VirtualClock): SchedulerLike & { scheduled: number } {
  const counted = {
    scheduled: 0,
    now: () => clock.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay?: number, state?: T): Subscription {
      counted.scheduled++;
      return clock.schedule(work, delay, state);
    },
  };
  return counted;
}

describe('cluster/EngineDeadlines (virtual time)', () => {
  it('fails work that does not settle within its time, and lets work that does through', async () => {
    const clock = new VirtualClock();
    const deadlines = new EngineDeadlines(clock, 100);
    const late = deadlines.watch(new Promise<never>(() => undefined), () => new Error('late')).catch((err: Error) => err.message);
    const quick = deadlines.watch(Promise.resolve('done'), () => new Error('late'));
    expect(await quick).to.equal('done');
    clock.advance(99);
    await flushMicrotasks();
    clock.advance(1);
    expect(await late).to.equal('late');
    deadlines.clear();
    expect(clock.pending).to.equal(0);
  });

  it('serves work that comes one piece at a time with one timer per deadline length, not one timer per piece', async () => {
    const clock = new VirtualClock();
    const scheduler = counting(clock);
    const deadlines = new EngineDeadlines(scheduler, 1_000);
    for (let i = 0; i < 100; i++) {
      await deadlines.watch(Promise.resolve(i), () => new Error('late'));
      clock.advance(5);
    }
    // 100 pieces over 500 ms of virtual time: one timer, armed by the first.
    expect(scheduler.scheduled).to.equal(1);
    deadlines.clear();
    expect(clock.pending, 'timers left after clear()').to.equal(0);
  });
});
