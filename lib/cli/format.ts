/**
 * Small formatters shared by the console commands: durations, byte counts, rates and short ids.
 * @module
 */

/** Length of the short client id the console shows instead of a token. */
export const SHORT_ID_LENGTH = 8;

/**
 * The console's handle for a connection: the first {@link SHORT_ID_LENGTH} characters of its token.
 * The rest of the token stays secret.
 * @param token the connection's token
 */
export function shortId(token: string): string {
  return token.slice(0, SHORT_ID_LENGTH);
}

/**
 * A duration as the two largest units: `42s`, `3m 05s`, `2h 07m`, `1d 04h`.
 * @param ms milliseconds; negative values count as 0
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (days > 0) return `${days}d ${two(hours)}h`;
  if (hours > 0) return `${hours}h ${two(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${two(seconds)}s`;
  return `${seconds}s`;
}

/**
 * A byte count in binary units: `512 B`, `1.5 KiB`, `3.0 MiB`.
 * @param bytes the count; fractions are allowed (for rates)
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A per-second rate with one decimal: `0.0`, `12.5`.
 * @param perSecond the rate
 */
export function formatRate(perSecond: number): string {
  return perSecond.toFixed(1);
}

/**
 * Wall-clock time of day as `HH:MM:SS.mmm`, local time.
 * @param ms milliseconds since the Unix epoch
 */
export function formatClock(ms: number): string {
  const date = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/**
 * Packet data as compact JSON, cut to `max` characters with an ellipsis.
 * @param data any value; `undefined` prints as nothing
 * @param max the longest string returned
 */
export function formatData(data: unknown, max = 200): string {
  if (data === undefined) return '';
  let text: string;
  try {
    text = JSON.stringify(data) ?? String(data);
  } catch {
    text = String(data);
  }
  // JSON escapes C0 controls in strings, not DEL, C1 or bidi characters: printable replaces those too.
  return printable(text, max);
}

/**
 * Text the application or a peer chose (a room, a subject, a close reason), made safe for a terminal:
 * control and bidirectional-override characters become `?`, and it is cut to `max` characters.
 * @param text the text
 * @param max the longest result, in characters @defaultValue 64
 */
export function printable(text: string, max = 64): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it removes
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * How the console names a client: its public id, or (for a connection without one) the first 8
 * characters of its token.
 * @param connection the client's connection
 */
export function clientLabel(connection: { readonly id?: string; readonly token: string }): string {
  return connection.id ?? shortId(connection.token);
}
