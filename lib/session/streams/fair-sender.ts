/**
 * Shares one connection's socket among its streams: streams with values and credit take turns, one
 * value each, and nobody writes while the socket is full.
 * @module
 */
import type { StreamWire } from './stream-wire.js';

/** A stream that can write its next value when its turn comes. */
export interface TurnTaker {
  /** Set by the sender while the stream waits for its turn. */
  inRing: boolean;
  /** True when the stream has a value and the credit to send it. */
  readonly sendable: boolean;
  /** Writes one value. */
  sendOne(): void;
}

/**
 * Stream values after which what has been written goes to the socket at once, not at the end of the
 * tick: the peer starts reading a burst (a refill of 192 with the default window) while the rest of it
 * is still being produced, so the two sides work at the same time instead of in turn. A divisor of 192,
 * so that the value after which the peer grants again ends a write. A trace of a stream at the default
 * window (bench/analysis.md, "Streams") found that with 96 the grant came back after the responder had
 * spent its credit; with 32 it came back while the responder still held some.
 */
export const VALUES_PER_FLUSH = 32;

/** Round-robin over the streams that wait, paced by the socket's 'drain'. */
export class FairSender {
  private ring: TurnTaker[] = [];
  private sinceFlush = 0;
  private head = 0;
  private pumping = false;
  private waitingForDrain = false;

  constructor(private readonly wire: StreamWire) {}

  /** True when a value may go out at once: no stream waits and the socket takes writes. */
  get idle(): boolean {
    return this.head === this.ring.length && !this.wire.blocked;
  }

  /** A stream wrote a value: every {@link VALUES_PER_FLUSH} values go to the socket without waiting for the end of the tick. */
  wrote(): void {
    if (++this.sinceFlush < VALUES_PER_FLUSH) return;
    this.sinceFlush = 0;
    this.wire.flush();
  }

  /** Puts a stream in line (once) and sends what the socket takes now. */
  enqueue(stream: TurnTaker): void {
    if (!stream.inRing) {
      stream.inRing = true;
      this.ring.push(stream);
    }
    this.pump();
  }

  /** Sends one value per waiting stream per round until nobody waits or the socket is full. */
  private pump(): void {
    if (this.pumping || this.waitingForDrain) return;
    this.pumping = true;
    try {
      while (this.head < this.ring.length) {
        if (this.wire.blocked) {
          this.waitingForDrain = true;
          this.wire.onceDrained(this.onDrained);
          break;
        }
        const stream = this.ring[this.head]!;
        this.head++;
        stream.inRing = false;
        if (!stream.sendable) continue;
        stream.sendOne();
        if (stream.sendable && !stream.inRing) {
          stream.inRing = true;
          this.ring.push(stream);
        }
      }
    } finally {
      this.pumping = false;
      this.compact();
    }
  }

  private readonly onDrained = (): void => {
    this.waitingForDrain = false;
    this.pump();
  };

  /** Drops the turns already taken, so the ring does not grow with the values sent. */
  private compact(): void {
    if (this.head === this.ring.length) {
      this.ring = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
  }
}
