/**
 * The one check every timing option goes through, so that no delay reaches a timer that would misread it.
 * @module
 */

/** The longest delay a Node timer honours, in ms; longer ones (and NaN) fire after 1 ms instead. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Extra values a timing option may take besides a delay above 0. */
export interface DelayRules {
  /** Allow 0 (the option's "off" or "at once"). @defaultValue false */
  zero?: boolean;
  /** Allow Infinity (the option's "never"). @defaultValue false */
  infinite?: boolean;
}

/**
 * Returns `value` when a timer can really wait that long: a number of ms above 0 and at most
 * {@link MAX_DELAY_MS}, or 0 / Infinity where `rules` allow them.
 * @param name the option's name, quoted in the error
 * @throws RangeError naming the option and the value it got
 * @example
 * checkDelay('closeTimeoutMs', 5000); // 5000
 * checkDelay('queuedPacketTtlMs', Infinity, { infinite: true }); // Infinity
 * checkDelay('reconnectDelayMaxMs', 2 ** 31); // RangeError
 */
export function checkDelay(name: string, value: number, rules: DelayRules = {}): number {
  if (typeof value === 'number') {
    if (value > 0 && value <= MAX_DELAY_MS) return value;
    if (value === 0 && rules.zero === true) return value;
    if (value === Number.POSITIVE_INFINITY && rules.infinite === true) return value;
  }
  const allowed = `a number of ms above ${rules.zero === true ? 'or equal to ' : ''}0 and at most ${MAX_DELAY_MS}${rules.infinite === true ? ', or Infinity' : ''}`;
  throw new RangeError(`${name} must be ${allowed}, got ${String(value)}`);
}

/** The RangeError {@link checkDelay} would throw, or null: for checks whose failure is a rejection. */
export function refuseDelay(name: string, value: number, rules?: DelayRules): RangeError | null {
  try {
    checkDelay(name, value, rules);
    return null;
  } catch (err) {
    return err as RangeError;
  }
}
