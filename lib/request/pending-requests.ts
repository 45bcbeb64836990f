/**
 * Requests waiting for their replies, keyed by id. Time enters through a SchedulerLike.
 * @module
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { RemoteError, RequestTimeoutError } from '../errors.js';
import type { Packet } from '../protocol/packet.js';

interface Entry {
  resolve: (data: unknown) => void;
  reject: (err: Error) => void;
  timer: Subscription;
}

/** Correlates replies with requests, and times requests out. */
export class PendingRequests {
  private readonly entries = new Map<number, Entry>();
  private lastId = 0;

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
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = this.scheduler.schedule(() => {
        this.entries.delete(id);
        reject(new RequestTimeoutError(action, timeoutMs));
      }, timeoutMs);
      this.entries.set(id, { resolve, reject, timer });
    });
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
    entry.timer.unsubscribe();
    if (packet.action === 'error') {
      const data = (packet.data ?? {}) as { code?: unknown; message?: unknown };
      entry.reject(new RemoteError(String(data.code ?? 'ERR_REMOTE'), String(data.message ?? 'request failed')));
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
    entry.timer.unsubscribe();
    entry.reject(error);
  }

  /** Rejects every waiting request with `error`. */
  rejectAll(error: Error): void {
    for (const id of [...this.entries.keys()]) this.fail(id, error);
  }

  private nextId(): number {
    // Ids stay within a safe integer; wrapping after 2^53 requests is harmless.
    this.lastId = this.lastId >= Number.MAX_SAFE_INTEGER ? 1 : this.lastId + 1;
    return this.lastId;
  }
}
