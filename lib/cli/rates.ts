/**
 * Packets and bytes per second, from the deltas between samples of cumulative counters.
 * @module
 */

/** Cumulative traffic counters, as `server.stats()`, `client.stats()` and `connection.stats` report them. */
export interface TrafficTotals {
  /** Packets received. */
  packetsIn: number;
  /** Packets sent. */
  packetsOut: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
}

interface Sample {
  time: number;
  totals: TrafficTotals;
}

/**
 * Keeps recent samples of cumulative counters and turns them into per-second rates over a sliding
 * window. Sample it regularly (the console does once a second); {@link RateMeter.rates} measures from
 * the newest sample that is at least a window old, or the oldest one it has.
 */
export class RateMeter {
  private readonly samples: Sample[] = [];

  /** @param windowMs how far back rates look, in ms */
  constructor(private readonly windowMs = 5000) {}

  /**
   * Records the counters as they are at `time`.
   * @param totals the cumulative counters
   * @param time when they were read, in ms
   */
  sample(totals: TrafficTotals, time: number): void {
    this.samples.push({ time, totals: { ...totals } });
    // Keep one sample at or before the window's start, so a full window is always measurable.
    while (this.samples.length > 2 && this.samples[1]!.time <= time - this.windowMs) this.samples.shift();
  }

  /**
   * Per-second rates between the reference sample and `totals` at `time`. Zero with no earlier sample.
   * @param totals the counters now
   * @param time now, in ms
   */
  rates(totals: TrafficTotals, time: number): TrafficTotals {
    let base = this.samples[0];
    for (const s of this.samples) if (s.time <= time - this.windowMs) base = s;
    const seconds = base === undefined ? 0 : (time - base.time) / 1000;
    if (base === undefined || seconds <= 0) return { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
    const per = (key: keyof TrafficTotals): number => Math.max(0, totals[key] - base.totals[key]) / seconds;
    return { packetsIn: per('packetsIn'), packetsOut: per('packetsOut'), bytesIn: per('bytesIn'), bytesOut: per('bytesOut') };
  }
}
