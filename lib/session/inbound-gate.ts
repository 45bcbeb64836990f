/**
 * Inbound backpressure for one connection: at most `maxConcurrentHandlers` handler invocations in flight.
 * Above that (and while replies cannot be written), user packets wait here in arrival order and the
 * socket stops reading, so a peer that pipelines requests to a slow handler is held back by TCP instead
 * of by our memory. When the connection closes, every handler still in flight is cancelled.
 * @module
 */
import type { Packet } from '../protocol/packet.js';

/** The part of a socket the gate steers. */
export interface ReadableSide {
  pause(): unknown;
  resume(): unknown;
  /** True while the socket's write buffer is over its high-water mark (Node's own flag). */
  readonly writableNeedDrain: boolean;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

/** Counts handler invocations in flight, holds packets that must wait, and pauses the socket meanwhile. */
export class InboundGate {
  private inFlight = 0;
  /** User packets read while at the limit, in order; `head` is the next one (no shift() per packet). */
  private waiting: Packet[] = [];
  private head = 0;
  private readonly cancels = new Set<() => void>();
  private paused = false;
  private closed = false;
  /** Set once the connection is closing: it must read on, or it would never see the peer's FIN. */
  private ending = false;

  /**
   * @param max most handler invocations in flight at once
   * @param socket paused while the gate is full or replies back up
   * @param deliver hands a packet on to the router
   */
  constructor(
    private readonly max: number,
    private readonly socket: ReadableSide,
    private readonly deliver: (packet: Packet) => void,
  ) {
    socket.on('drain', this.update);
  }

  /** True while the socket is paused by this gate. */
  get readingPaused(): boolean {
    return this.paused;
  }

  /** Handler invocations in flight now. */
  get active(): number {
    return this.inFlight;
  }

  /** Delivers `packet` now, or after the packets already waiting once there is room. */
  offer(packet: Packet): void {
    if (this.head < this.waiting.length || this.inFlight >= this.max) {
      this.waiting.push(packet);
      this.update();
    } else {
      this.deliver(packet);
    }
  }

  /**
   * Counts one handler invocation as in flight until the returned function is called. `cancel` ends it
   * (unsubscribes, stops waiting) if the connection closes first; on a closed gate it runs at once.
   */
  hold(cancel: () => void): () => void {
    if (this.closed) {
      cancel();
      return noop;
    }
    this.inFlight++;
    this.cancels.add(cancel);
    this.update();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (!this.cancels.delete(cancel)) return;
      this.inFlight--;
      this.drain();
    };
  }

  /** The connection is closing: reading resumes for good (packets still wait their turn for a handler). */
  end(): void {
    this.ending = true;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * The connection closed: cancels every handler in flight. One-way packets still waiting are delivered
   * (they arrived); requests are not run, as their replies could not be sent (the requester learns of
   * the close on its own side).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('drain', this.update);
    const cancels = [...this.cancels];
    this.cancels.clear();
    this.inFlight = 0;
    for (const cancel of cancels) cancel();
    const rest = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const packet of rest) if (packet.id === undefined) this.deliver(packet);
  }

  private drain(): void {
    while (this.head < this.waiting.length && this.inFlight < this.max && !this.closed) {
      const packet = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as Packet;
      this.deliver(packet);
    }
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
    this.update();
  }

  /** Pauses reading while full, or while replies back up with handlers still running; resumes otherwise. */
  private readonly update = (): void => {
    if (this.closed || this.ending) return;
    const stop = this.inFlight >= this.max || this.head < this.waiting.length || (this.inFlight > 0 && this.socket.writableNeedDrain);
    if (stop && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  };
}

function noop(): void {}
