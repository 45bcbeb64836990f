import { expect } from 'chai';
import { RateMeter, type TrafficTotals } from '../../lib/cli/rates.js';

const totals = (n: number): TrafficTotals => ({ packetsIn: n, packetsOut: n * 2, bytesIn: n * 100, bytesOut: n * 200 });

describe('rates', () => {
  describe('RateMeter', () => {
    it('reports zero with no earlier sample', () => {
      expect(new RateMeter().rates(totals(5), 1000)).to.deep.equal({ packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 });
    });

    it('divides the change since the oldest sample by the time elapsed', () => {
      const meter = new RateMeter(5000);
      meter.sample(totals(0), 0);
      expect(meter.rates(totals(10), 2000)).to.deep.equal({ packetsIn: 5, packetsOut: 10, bytesIn: 500, bytesOut: 1000 });
    });

    it('measures over the last window once samples span it', () => {
      const meter = new RateMeter(5000);
      for (let t = 0; t <= 10_000; t += 1000) meter.sample(totals(t < 5000 ? 0 : (t - 5000) / 1000), t);
      // Samples at t=5000 (0) … 10000 (5): five packets over the last five seconds.
      expect(meter.rates(totals(5), 10_000).packetsIn).to.equal(1);
    });

    it('never reports a negative rate', () => {
      const meter = new RateMeter();
      meter.sample(totals(10), 0);
      expect(meter.rates(totals(3), 1000).packetsIn).to.equal(0);
    });
  });
});
