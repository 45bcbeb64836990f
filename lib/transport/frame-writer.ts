/**
 * Frames to a socket. Every payload written in one tick is framed into a single buffer and handed to
 * the socket in one write; while the socket is full, payloads gather (up to a byte limit) until 'drain'.
 * @module
 */
import type { Socket } from 'node:net';
import { ConnectionClosedError, FrameTooLargeError, SendBufferFullError } from '../errors.js';
import { FRAME_HEADER_BYTES } from '../protocol/frame.js';
import type { TrafficStats } from '../types.js';

/** A batch this large is written at once rather than at the end of the tick. */
const FLUSH_BYTES = 64 * 1024;

/** Payloads framed and written together, sharing one Promise. */
interface Batch {
  readonly payloads: Array<string | Uint8Array>;
  readonly lengths: number[];
  bytes: number;
  readonly done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Writes frames to one socket in order, coalescing per tick and honouring backpressure. */
export class FrameWriter {
  private batch: Batch | null = null;
  private scheduled = false;
  private isBlocked = false;
  private drainWaiters: Array<() => void> = [];
  private ending = false;
  private closedWith: Error | null = null;

  /**
   * @param socket the socket to write to
   * @param maxFrameBytes largest payload allowed
   * @param maxWaitingBytes bytes that may wait for 'drain' before further writes are refused
   * @param counters counts each accepted frame into `packetsOut` and its bytes into `bytesOut`
   */
  constructor(
    private readonly socket: Socket,
    private readonly maxFrameBytes: number,
    private readonly maxWaitingBytes: number,
    private readonly counters: Pick<TrafficStats, 'packetsOut' | 'bytesOut'>,
  ) {
    socket.on('drain', this.onDrain);
  }

  /**
   * Frames `payload` (a string is encoded as UTF-8). Resolves once the frame is handed to the socket;
   * rejects with FrameTooLargeError, SendBufferFullError, or ConnectionClosedError if the socket closes first.
   */
  write(payload: string | Uint8Array): Promise<void> {
    const refused = this.tryWrite(payload);
    return refused ? Promise.reject(refused) : this.batch!.done;
  }

  /** True while the socket is full: what is written now waits for 'drain'. */
  get blocked(): boolean {
    return this.isBlocked;
  }

  /** Calls `callback` once, the next time the socket drains and takes writes again. */
  onceDrained(callback: () => void): void {
    this.drainWaiters.push(callback);
  }

  /**
   * Like {@link write} without a Promise, for callers that write many frames and only need to know
   * whether each was accepted: the error it was refused with, or null.
   */
  tryWrite(payload: string | Uint8Array): Error | null {
    if (this.closedWith) return this.closedWith;
    if (this.ending) return new ConnectionClosedError('connection is closing');
    const length = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
    if (length > this.maxFrameBytes) return new FrameTooLargeError(length, this.maxFrameBytes);
    const size = FRAME_HEADER_BYTES + length;
    if (this.batch !== null && this.batch.bytes + size > (this.isBlocked ? this.maxWaitingBytes : FLUSH_BYTES)) {
      // While the socket is full, the backlog is bounded; otherwise a large burst goes out now, in
      // pieces, instead of piling up until the end of the tick.
      if (this.isBlocked) return new SendBufferFullError(this.maxWaitingBytes);
      this.flush();
      if (this.isBlocked && size > this.maxWaitingBytes) return new SendBufferFullError(this.maxWaitingBytes);
    }
    const batch = (this.batch ??= newBatch());
    batch.payloads.push(payload);
    batch.lengths.push(length);
    batch.bytes += size;
    this.counters.packetsOut++;
    this.counters.bytesOut += size;
    if (!this.isBlocked && !this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushWriter, this);
    }
    return null;
  }

  /** Ends the socket once everything accepted so far has been handed to it. */
  end(): void {
    if (this.ending || this.closedWith) return;
    this.ending = true;
    if (this.batch === null) this.socket.end();
  }

  /** Rejects everything not yet handed over and refuses later writes. */
  close(error: Error = new ConnectionClosedError()): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.off('drain', this.onDrain);
    this.drainWaiters = [];
    const batch = this.batch;
    this.batch = null;
    batch?.reject(error);
  }

  /** @internal Hands the batch to the socket; runs once per tick with writes (see flushWriter). */
  flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    if (batch === null || this.isBlocked || this.closedWith) return;
    this.batch = null;
    const buffer = Buffer.allocUnsafe(batch.bytes);
    let offset = 0;
    for (let i = 0; i < batch.payloads.length; i++) {
      const payload = batch.payloads[i]!;
      const length = batch.lengths[i]!;
      buffer.writeUInt32BE(length, offset);
      offset += FRAME_HEADER_BYTES;
      if (typeof payload === 'string') buffer.write(payload, offset, length, 'utf8');
      else buffer.set(payload, offset);
      offset += length;
    }
    if (!this.socket.write(buffer)) this.isBlocked = true;
    batch.resolve();
    if (this.ending && !this.isBlocked) this.socket.end();
  }

  private readonly onDrain = (): void => {
    this.isBlocked = false;
    if (this.batch !== null) this.flush();
    else if (this.ending) this.socket.end();
    if (this.isBlocked || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  };
}

/** The nextTick callback: a module function, so a writer needs no closure of its own for it. */
function flushWriter(writer: FrameWriter): void {
  writer.flush();
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers may drop the promise; a rejection they never see must not become an unhandled one.
  done.catch(() => undefined);
  return { payloads: [], lengths: [], bytes: 0, done, resolve, reject };
}
