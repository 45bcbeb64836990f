/**
 * Credit arithmetic on the receiving side of a stream: how much the peer may still send, and when to
 * grant more. Pure: no packets, no timers.
 * @module
 */
import { StreamCreditError } from '../../errors.js';
import { MAX_STREAM_CREDIT } from '../../protocol/stream-packets.js';

/**
 * The credit a receiver has granted and the peer has not used yet.
 *
 * In prefetch mode (RSocket's `limitRate`), the window starts at `prefetch` and, each time three quarters
 * of it have been consumed, that many are granted again: with 256, a grant of 192 after every 192 values,
 * so the peer never holds more than 256. In demand mode nothing is granted but what `request(n)` asks for.
 */
export class ReceiveCredit {
  /** Credit the peer holds: granted and not yet used by a value. */
  private outstanding: number;
  private consumedSinceGrant = 0;
  /** Values consumed before a grant; 0 in demand mode. */
  private readonly refillAt: number;

  /**
   * @param initial credit granted at the start (sent with the open, or as the first grant)
   * @param prefetch the window to keep topped up; 0 for demand mode
   */
  constructor(initial: number, prefetch: number) {
    this.outstanding = initial;
    this.refillAt = prefetch > 0 ? prefetch - Math.floor(prefetch / 4) : 0;
  }

  /** Credit the peer still holds. */
  get held(): number {
    return this.outstanding;
  }

  /** A value arrived: false when the peer had no credit left for it (it broke the protocol). */
  receive(): boolean {
    if (this.outstanding === 0) return false;
    this.outstanding--;
    return true;
  }

  /** The consumer took a value: the credit to grant now, or 0 (always 0 in demand mode). */
  consumed(): number {
    if (this.refillAt === 0) return 0;
    if (++this.consumedSinceGrant < this.refillAt) return 0;
    const grant = this.consumedSinceGrant;
    this.consumedSinceGrant = 0;
    this.outstanding += grant;
    return grant;
  }

  /**
   * Grants `n` more (demand mode's `request(n)`, or a channel's first grant).
   * @throws StreamCreditError when `n` is not a whole number from 1, or the peer would hold more than 2^31 − 1
   */
  grant(n: number): number {
    if (!(Number.isInteger(n) && n >= 1)) throw new StreamCreditError(`request(n) needs a whole number from 1, got ${n}`);
    if (this.outstanding + n > MAX_STREAM_CREDIT) {
      throw new StreamCreditError(`credit ${this.outstanding} + ${n} would exceed ${MAX_STREAM_CREDIT}`);
    }
    this.outstanding += n;
    return n;
  }
}
