/**
 * Text for a thrown value, safe for any value a handler or a peer can produce.
 * @module
 */

/**
 * A short, secret-free description of a thrown value, which never throws itself: an object without a
 * usable `toString` (a null prototype, a `toString` that is not a function or that throws) is shown by its kind.
 */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return typeof value.message === 'string' ? value.message : describeThrown(value.message);
    return String(value);
  } catch {
    return value === null || typeof value !== 'object' ? typeof value : Array.isArray(value) ? 'an array' : 'an object';
  }
}
