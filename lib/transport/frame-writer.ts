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
  private blocked = false;
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
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.ending) return Promise.reject(new ConnectionClosedError('connection is closing'));
    const length = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
    if (length > this.maxFrameBytes) return Promise.reject(new FrameTooLargeError(length, this.maxFrameBytes));
    const size = FRAME_HEADER_BYTES + length;
    if (this.batch !== null && this.batch.bytes + size > (this.blocked ? this.maxWaitingBytes : FLUSH_BYTES)) {
      // While the socket is full, the backlog is bounded; otherwise a large burst goes out now, in
      // pieces, instead of piling up until the end of the tick.
      if (this.blocked) return Promise.reject(new SendBufferFullError(this.maxWaitingBytes));
      this.flush();
      if (this.blocked && size > this.maxWaitingBytes) return Promise.reject(new SendBufferFullError(this.maxWaitingBytes));
    }
    const batch = (this.batch ??= newBatch());
    batch.payloads.push(payload);
    batch.lengths.push(length);
    batch.bytes += size;
    this.counters.packetsOut++;
    this.counters.bytesOut += size;
    if (!this.blocked && !this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushWriter, this);
    }
    return batch.done;
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
    const batch = this.batch;
    this.batch = null;
    batch?.reject(error);
  }

  /** @internal Hands the batch to the socket; runs once per tick with writes (see flushWriter). */
  flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    if (batch === null || this.blocked || this.closedWith) return;
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
    if (!this.socket.write(buffer)) this.blocked = true;
    batch.resolve();
    if (this.ending && !this.blocked) this.socket.end();
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    if (this.batch !== null) this.flush();
    else if (this.ending) this.socket.end();
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
