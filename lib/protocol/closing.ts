/**
 * Reading a `closing` packet's data: the reason the peer gives and whether it may be reconnected to.
 * @module
 */

/** The reason a `closing` packet gives, as the connection reports it. */
export function closingReason(data: unknown): string {
  const reason = typeof data === 'object' && data !== null ? (data as { reason?: unknown }).reason : undefined;
  return `closed by peer: ${typeof reason === 'string' ? reason : 'no reason given'}`;
}

/** False when a `closing` packet says `retry: false`: the peer asks not to be reconnected to. */
export function closingRetry(data: unknown): boolean {
  return !(typeof data === 'object' && data !== null && (data as { retry?: unknown }).retry === false);
}
