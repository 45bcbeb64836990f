/**
 * Status lines about traffic, shared by the server and client `status` commands.
 * @module
 */
import { formatBytes, formatRate } from '../format.js';
import type { RateMeter, TrafficTotals } from '../rates.js';

/**
 * Label/value pairs for current rates and totals.
 * @param meter the console's rate meter
 * @param totals the counters now
 * @param now the time now, in ms
 */
export function trafficPairs(meter: RateMeter, totals: TrafficTotals, now: number): [string, string][] {
  const rates = meter.rates(totals, now);
  return [
    ['packets/s', `in ${formatRate(rates.packetsIn)}  out ${formatRate(rates.packetsOut)}`],
    ['bytes/s', `in ${formatBytes(rates.bytesIn)}  out ${formatBytes(rates.bytesOut)}`],
    ['total', `in ${totals.packetsIn} packets (${formatBytes(totals.bytesIn)})  out ${totals.packetsOut} packets (${formatBytes(totals.bytesOut)})`],
  ];
}

/** How the status line names a transport: TLS, or plain TCP, which it says is clear text. */
export function transportLabel(encrypted: boolean | undefined): string {
  if (encrypted === undefined) return '-';
  return encrypted ? 'TLS 1.3 (encrypted)' : 'plain TCP (clear text)';
}
