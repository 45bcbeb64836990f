/**
 * A token bucket for the packets one connection may send: `perSecond` tokens, refilled continuously,
 * so a burst of up to one second's worth is allowed. Time comes from the scheduler, so specs run it in
 * virtual time.
 * @module
 */
import type { SchedulerLike } from 'rxjs';

/** What to do with one packet. */
export type RateVerdict = 'accept' | 'refuse' | 'flood';

/** Counts packets against a rate; a peer refused more than `perSecond` times within one second is flooding. */
export class PacketRate {
  private tokens: number;
  private last: number;
  private windowStart: number;
  private refused = 0;

  constructor(
    private readonly perSecond: number,
    private readonly scheduler: SchedulerLike,
  ) {
    this.tokens = perSecond;
    this.last = scheduler.now();
    this.windowStart = this.last;
  }

  /** Takes a token for one packet: accept it, refuse it, or close the connection (a sustained flood). */
  take(): RateVerdict {
    const now = this.scheduler.now();
    if (now > this.last) {
      this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'accept';
    }
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.refused = 0;
    }
    this.refused++;
    return this.refused > this.perSecond ? 'flood' : 'refuse';
  }
}
