/**
 * Requests waiting for their replies, keyed by id. Time enters through a SchedulerLike.
 * @module
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { RequestTimeoutError, remoteErrorFrom } from '../errors.js';
import type { Packet } from '../protocol/packet.js';

interface Entry {
  readonly action: string;
  readonly timeoutMs: number;
  /** When it times out, on the scheduler's clock. */
  readonly deadline: number;
  readonly resolve: (data: unknown) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Correlates replies with requests, and times requests out. One scheduled action serves every
 * request: it wakes at the earliest deadline, so a request costs no timer of its own.
 */
export class PendingRequests {
  private readonly entries = new Map<number, Entry>();
  private lastId = 0;
  private sweep: Subscription | null = null;
  /** When the scheduled sweep runs; Infinity when none is scheduled. */
  private sweepAt = Number.POSITIVE_INFINITY;

  /** @param scheduler drives the timeouts */
  constructor(private readonly scheduler: SchedulerLike) {}

  /** Requests still waiting. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Opens a request: returns its id, and a Promise of the reply's data that rejects with
   * `RequestTimeoutError` after `timeoutMs`, or `RemoteError` when the peer answers with an error.
   */
  open(action: string, timeoutMs: number): { id: number; reply: Promise<unknown> } {
    const id = this.nextId();
    const deadline = this.scheduler.now() + timeoutMs;
    const reply = new Promise<unknown>((resolve, reject) => {
      this.entries.set(id, { action, timeoutMs, deadline, resolve, reject });
    });
    if (deadline < this.sweepAt) this.scheduleSweep(deadline);
    return { id, reply };
  }

  /**
   * Settles the request a `reply` or `error` packet answers.
   * @returns false when no request with that id is waiting (it timed out, or never existed)
   */
  settle(packet: Packet): boolean {
    const entry = packet.id === undefined ? undefined : this.entries.get(packet.id);
    if (!entry) return false;
    this.entries.delete(packet.id!);
    if (packet.action === 'error') {
      entry.reject(remoteErrorFrom(packet.data, 'request failed'));
    } else {
      entry.resolve(packet.data);
    }
    return true;
  }

  /** Rejects one request, for example when its packet could not be sent. */
  fail(id: number, error: Error): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.reject(error);
  }

  /** Rejects every waiting request with `error`, and cancels the timer. */
  rejectAll(error: Error): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.cancelSweep();
    for (const entry of entries) entry.reject(error);
  }

  /** @internal The sweep: rejects what is due, then sleeps until the next deadline. Returns that delay, or null. */
  expire(): number | null {
    const now = this.scheduler.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, entry] of this.entries) {
      if (entry.deadline <= now) {
        this.entries.delete(id);
        entry.reject(new RequestTimeoutError(entry.action, entry.timeoutMs));
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    this.sweepAt = next;
    if (next === Number.POSITIVE_INFINITY) {
      this.sweep = null;
      return null;
    }
    return next - now;
  }

  private scheduleSweep(at: number): void {
    this.cancelSweep();
    this.sweepAt = at;
    this.sweep = this.scheduler.schedule(runSweep, Math.max(0, at - this.scheduler.now()), this);
  }

  private cancelSweep(): void {
    this.sweep?.unsubscribe();
    this.sweep = null;
    this.sweepAt = Number.POSITIVE_INFINITY;
  }

  private nextId(): number {
    // Ids stay within a safe integer; wrapping after 2^53 requests is harmless.
    this.lastId = this.lastId >= Number.MAX_SAFE_INTEGER ? 1 : this.lastId + 1;
    return this.lastId;
  }
}

/** The scheduled work, shared by every PendingRequests: no closure per connection or per request. */
function runSweep(this: SchedulerAction<PendingRequests>, pending?: PendingRequests): void {
  const delay = pending!.expire();
  if (delay !== null) this.schedule(pending, delay);
}
