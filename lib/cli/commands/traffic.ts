/**
 * Status lines about traffic, shared by the server and client `status` commands.
 * @module
 */
import type { SecurityMode } from '../instance.js';
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

/**
 * How the status line names a transport: TLS, the secure channel, or plain TCP, which it says is clear
 * text. `security` wins over `encrypted` when both are known (an older instance reports only the flag).
 */
export function transportLabel(encrypted: boolean | undefined, security?: SecurityMode): string {
  if (security === 'channel') return 'secure channel (encrypted, forward secret)';
  if (security === 'tls') return 'TLS 1.3 (encrypted)';
  if (security === 'plain') return 'plain TCP (clear text)';
  if (encrypted === undefined) return '-';
  return encrypted ? 'TLS 1.3 (encrypted)' : 'plain TCP (clear text)';
}

/** The secure channel's record counts for the status line, or '-' off the channel. */
export function recordsLabel(records: { readonly sent: number; readonly received: number } | null | undefined): string {
  return records ? `sent ${records.sent}  received ${records.received}` : '-';
}
