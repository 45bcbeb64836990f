/**
 * Frames to a socket. Payloads written in one tick are framed together and handed to the socket in
 * pieces of about 64 KiB; while the socket is full, they wait in order until 'drain'. Nothing a caller
 * writes is refused for its size: the backlog is watched instead, and a peer that reads nothing for
 * `sendStallTimeoutMs` while more than `maxSendBufferBytes` wait, or while work upstream waits for
 * 'drain' (stream values held back from a full socket), is reported as stalled.
 * @module
 */
import { Socket as NetSocket, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Subject, type Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionClosedError, FrameTooLargeError, SendBufferFullError } from '../errors.js';
import { FRAME_HEADER_BYTES } from '../protocol/frame.js';
import type { TrafficStats } from '../types.js';

/** A batch this large is handed to the socket at once rather than at the end of the tick. */
const FLUSH_BYTES = 64 * 1024;

/**
 * The buffer batches are framed into before a socket that copies them takes them (see writeBatch):
 * one for every writer, since each uses it only during its own synchronous write.
 */
let scratch: Buffer | null = null;

/**
 * True when what `socket.write` is given is no longer needed once the socket holds no bytes: a TCP
 * socket (the kernel has copied it) or a socket that says so (the secure channel seals a copy). Not an
 * in-memory socket, which hands the very buffer to its peer.
 */
function copiesWrites(socket: Socket): boolean {
  if (socket instanceof NetSocket) return !(socket instanceof TLSSocket);
  return (socket as { readonly copiesWrites?: boolean }).copiesWrites === true;
}

/** Batches up to this size are framed into a buffer from Node's pool (half its 8 KiB slab, as Buffer does). */
const POOLED_BYTES = Buffer.poolSize >>> 1;

/** In a batch's `lengths`: this payload continues the frame before it (a spliced payload's tail). */
const CONTINUED = -1;

/** The limits a writer works with; a connection passes its own settings. */
export interface FrameWriterLimits {
  /** Largest payload allowed, in bytes. */
  readonly maxFrameBytes: number;
  /** Backlog (bytes not yet sent) above which the writer is not writable. */
  readonly maxSendBufferBytes: number;
  /** Time the peer may read nothing while the backlog stays above `maxSendBufferBytes`, in ms. */
  readonly sendStallTimeoutMs: number;
  /** Drives the stall check. */
  readonly scheduler: SchedulerLike;
}

/** Who hears that the peer stopped reading. */
export interface FrameWriterListener {
  /** The backlog stayed above the limit with no progress for `sendStallTimeoutMs`; the writer has stopped checking. */
  onWriterStalled(error: SendBufferFullError): void;
}

/** Payloads framed and written together, sharing one Promise. */
interface Batch {
  payloads: Array<string | Uint8Array>;
  lengths: number[];
  /** The frames in one buffer, once framed; the payloads are then dropped. */
  framed: Buffer | null;
  bytes: number;
  readonly done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Writes frames to one socket in order, coalescing per tick and honouring backpressure. */
export class FrameWriter {
  /** Batches not yet handed to the socket, oldest first; only the last one takes new payloads. */
  private batches: Batch[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private isBlocked = false;
  private ending = false;
  private closedWith: Error | null = null;
  private over = false;
  private changes: Subject<boolean> | null = null;
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> | null = null;
  private drainCallbacks: Array<() => void> = [];
  private stallCheck: Subscription | null = null;
  /** Progress marks for the stall check: 'drain' events seen, and the socket's backlog at the last look. */
  private drains = 0;
  private seenDrains = 0;
  private seenSocketBytes = 0;
  private lastProgressAt = 0;
  /** Whether batches may be framed into the shared scratch buffer (see writeBatch). */
  private readonly copiesWrites: boolean;

  /**
   * @param socket the socket to write to
   * @param limits frame size, backlog limit, stall timeout and scheduler
   * @param counters counts each accepted frame into `packetsOut` and its bytes into `bytesOut`
   * @param listener told when the peer stops reading
   */
  constructor(
    private readonly socket: Socket,
    private readonly limits: FrameWriterLimits,
    private readonly counters: Pick<TrafficStats, 'packetsOut' | 'bytesOut'>,
    private readonly listener: FrameWriterListener,
  ) {
    (socket as WriterSocket)[WRITER] = this;
    socket.on('drain', onSocketDrain);
    this.copiesWrites = copiesWrites(socket);
  }

  /** Bytes accepted and not yet sent: waiting here, plus what the socket itself still holds. */
  get bufferedBytes(): number {
    return this.pendingBytes + (this.socket.writableLength ?? 0);
  }

  /** False while more than `maxSendBufferBytes` wait, and once closed. */
  get writable(): boolean {
    return !this.over && this.closedWith === null && !this.ending;
  }

  /** Emits `false` when the backlog goes over the limit and `true` when it is back under. */
  get writable$(): Observable<boolean> {
    this.changes ??= new Subject<boolean>();
    return this.changes.asObservable();
  }

  /** Resolves once writable; rejects with the close error if the writer closes first. */
  drained(): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.ending) return Promise.reject(new ConnectionClosedError('connection is closing'));
    if (!this.over) return Promise.resolve();
    return new Promise<void>((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }));
  }

  /**
   * Frames `payload` (a string is encoded as UTF-8). Resolves once the frame is handed to the socket;
   * rejects with FrameTooLargeError, or ConnectionClosedError if the socket closes first. A large
   * backlog is accepted (see {@link FrameWriter.writable}).
   */
  write(payload: string | Uint8Array): Promise<void> {
    const refused = this.tryWrite(payload);
    return refused ? Promise.reject(refused) : this.batches[this.batches.length - 1]!.done;
  }

  /** True while the socket is full: what is written now waits for 'drain'. */
  get blocked(): boolean {
    return this.isBlocked;
  }

  /**
   * Calls `callback` once, the next time the socket drains and takes writes again. What waits for it
   * counts as a backlog: a peer that takes nothing for `sendStallTimeoutMs` meanwhile is stalled.
   */
  onceDrained(callback: () => void): void {
    this.drainCallbacks.push(callback);
    if (this.isBlocked && this.closedWith === null) this.startStallCheck();
  }

  /** True while the stall check has something to watch: a backlog over the limit, or callers waiting for 'drain'. */
  private get waiting(): boolean {
    return this.over || this.drainCallbacks.length > 0;
  }

  /**
   * Like {@link FrameWriter.write} without a Promise, for callers that write many frames and only need
   * to know whether each was accepted: the error it was refused with, or null.
   */
  tryWrite(payload: string | Uint8Array): Error | null {
    return this.accept(payload, typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length, null);
  }

  /**
   * Like {@link FrameWriter.tryWrite} for a payload in two parts, `head` then `tail`, framed as one: a
   * broadcast's shared bytes and one recipient's own end, with no copy made to join them.
   */
  tryWriteSpliced(head: Uint8Array, tail: Uint8Array): Error | null {
    return this.accept(head, head.length + tail.length, tail);
  }

  /** The promise of the batch that took the last accepted write: settles when it is handed to the socket. */
  get lastWritten(): Promise<void> {
    return this.batches[this.batches.length - 1]!.done;
  }

  private accept(payload: string | Uint8Array, length: number, tail: Uint8Array | null): Error | null {
    if (this.closedWith) return this.closedWith;
    if (this.ending) return new ConnectionClosedError('connection is closing');
    if (length > this.limits.maxFrameBytes) return new FrameTooLargeError(length, this.limits.maxFrameBytes);
    const size = FRAME_HEADER_BYTES + length;
    let batch = this.batches.length === 0 ? undefined : this.batches[this.batches.length - 1];
    if (batch === undefined || batch.bytes + size > FLUSH_BYTES) {
      // A full batch goes out now while the socket takes it, instead of piling up until the end of the tick.
      // While the socket is full, it is framed now instead: its payloads (strings on the JavaScript heap)
      // die young, and a long wait for 'drain' holds one off-heap buffer per batch, which the garbage
      // collector never copies. (A profile of 4 KiB one-way sends over TLS, where every write blocks
      // until 'drain', showed 40% of the time in GC with the strings kept until the drain.)
      if (batch !== undefined) {
        if (this.isBlocked) pack(batch);
        else this.flush();
      }
      batch = newBatch();
      this.batches.push(batch);
    }
    batch.payloads.push(payload);
    batch.lengths.push(length);
    if (tail !== null) {
      batch.payloads.push(tail);
      batch.lengths.push(CONTINUED);
    }
    batch.bytes += size;
    this.pendingBytes += size;
    this.counters.packetsOut++;
    this.counters.bytesOut += size;
    if (!this.isBlocked && !this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushWriter, this);
    }
    if (!this.over && this.pendingBytes > this.limits.maxSendBufferBytes) this.checkBacklog();
    return null;
  }

  /** Ends the socket once everything accepted so far has been handed to it. */
  end(): void {
    if (this.ending || this.closedWith) return;
    this.ending = true;
    if (this.batches.length === 0) this.socket.end();
  }

  /** Rejects everything not yet handed over, and every drained() waiter, and refuses later writes. */
  close(error: Error = new ConnectionClosedError()): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.off('drain', onSocketDrain);
    this.drainCallbacks = [];
    this.stopStallCheck();
    const batches = this.batches;
    this.batches = [];
    this.pendingBytes = 0;
    for (const batch of batches) batch.reject(error);
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters) for (const waiter of waiters) waiter.reject(error);
    this.changes?.complete();
  }

  /** @internal Hands batches to the socket until it is full; runs once per tick with writes (see flushWriter). */
  flush(): void {
    this.scheduled = false;
    while (!this.isBlocked && this.closedWith === null && this.batches.length > 0) {
      const batch = this.batches.shift()!;
      this.pendingBytes -= batch.bytes;
      if (!this.writeBatch(batch)) this.isBlocked = true;
      batch.resolve();
    }
    if (this.ending && this.batches.length === 0 && !this.isBlocked && this.closedWith === null) this.socket.end();
    this.checkBacklog();
  }

  /**
   * Hands one batch to the socket. Framed into the shared scratch buffer when the socket copies what it
   * is given: writing into a buffer whose memory was just used is several times faster than into a
   * fresh one (measured with 4 KiB payloads: 60 ms against 180-220 ms for 800 MB), and a batch of
   * small frames is mostly that write.
   */
  private writeBatch(batch: Batch): boolean {
    // Small batches come from Node's shared pool, which is cheap; and a socket that is still connecting,
    // or already holds bytes, would keep the scratch buffer, so the next batch would need a new one.
    const socket = this.socket;
    const useScratch = batch.framed === null && this.copiesWrites && batch.bytes > POOLED_BYTES && batch.bytes <= FLUSH_BYTES && !socket.connecting && socket.writableLength === 0;
    if (!useScratch) return socket.write(batch.framed ?? frameBatch(batch));
    const buffer = (scratch ??= Buffer.allocUnsafeSlow(FLUSH_BYTES));
    const taken = socket.write(frameBatch(batch, buffer));
    // The socket queued the bytes instead of passing them on at once: the buffer is its now.
    if (socket.writableLength !== 0) scratch = null;
    return taken;
  }

  /** @internal The stall check's wake-up: returns the delay to the next one, or null when it stops. */
  checkStall(): number | null {
    const now = this.limits.scheduler.now();
    const socketBytes = this.socket.writableLength ?? 0;
    // The peer read something since the last look: a 'drain', or the socket's own backlog shrank.
    if (this.drains !== this.seenDrains || socketBytes < this.seenSocketBytes) this.lastProgressAt = now;
    this.seenDrains = this.drains;
    this.seenSocketBytes = socketBytes;
    if (!this.waiting || this.closedWith) {
      this.stallCheck = null;
      return null;
    }
    const stalledMs = now - this.lastProgressAt;
    if (stalledMs < this.limits.sendStallTimeoutMs) return this.limits.sendStallTimeoutMs - stalledMs;
    this.stallCheck = null;
    this.listener.onWriterStalled(new SendBufferFullError(this.limits.maxSendBufferBytes, this.bufferedBytes, stalledMs));
    return null;
  }

  /** Compares the backlog with the limit: flips `writable`, starts or stops the stall check. */
  private checkBacklog(): void {
    const over = this.bufferedBytes > this.limits.maxSendBufferBytes;
    if (over === this.over || this.closedWith) return;
    this.over = over;
    if (over) {
      this.startStallCheck();
    } else {
      if (!this.waiting) this.stopStallCheck();
      const waiters = this.waiters;
      this.waiters = null;
      if (waiters) for (const waiter of waiters) waiter.resolve();
    }
    this.changes?.next(!over);
  }

  private startStallCheck(): void {
    if (this.stallCheck) return;
    const { scheduler, sendStallTimeoutMs } = this.limits;
    this.lastProgressAt = scheduler.now();
    this.seenDrains = this.drains;
    this.seenSocketBytes = this.socket.writableLength ?? 0;
    this.stallCheck = scheduler.schedule(wakeStallCheck, sendStallTimeoutMs, this);
  }

  private stopStallCheck(): void {
    this.stallCheck?.unsubscribe();
    this.stallCheck = null;
  }

  /** @internal The socket's 'drain'. */
  onDrain(): void {
    this.drains++;
    this.isBlocked = false;
    if (this.batches.length > 0) this.flush();
    else {
      if (this.ending) this.socket.end();
      this.checkBacklog();
    }
    if (this.isBlocked || this.drainCallbacks.length === 0) return;
    const callbacks = this.drainCallbacks;
    this.drainCallbacks = [];
    for (const callback of callbacks) callback();
  }
}

/** Where a socket keeps its writer: the 'drain' listener is one module function, not a closure per writer. */
const WRITER = Symbol('pnetwork.frameWriter');
type WriterSocket = Socket & { [WRITER]?: FrameWriter };

function onSocketDrain(this: WriterSocket): void {
  this[WRITER]?.onDrain();
}

/** The nextTick callback: a module function, so a writer needs no closure of its own for it. */
function flushWriter(writer: FrameWriter): void {
  writer.flush();
}

/** The stall check's scheduled work, shared by every writer. */
function wakeStallCheck(this: SchedulerAction<FrameWriter>, writer?: FrameWriter): void {
  const delay = writer!.checkStall();
  if (delay !== null) this.schedule(writer, delay);
}

/** Frames the batch into one buffer now and lets go of its payloads. */
function pack(batch: Batch): void {
  if (batch.framed !== null) return;
  batch.framed = frameBatch(batch);
  batch.payloads = [];
  batch.lengths = [];
}

/** One buffer holding every frame of the batch: a new one, or the start of `into`. */
function frameBatch(batch: Batch, into?: Buffer): Buffer {
  const buffer = into === undefined ? Buffer.allocUnsafe(batch.bytes) : into.subarray(0, batch.bytes);
  let offset = 0;
  for (let i = 0; i < batch.payloads.length; i++) {
    const payload = batch.payloads[i]!;
    const length = batch.lengths[i]!;
    // A spliced payload's tail continues the frame before it: no header of its own.
    if (length !== CONTINUED) {
      buffer.writeUInt32BE(length, offset);
      offset += FRAME_HEADER_BYTES;
    }
    if (typeof payload === 'string') {
      offset += buffer.write(payload, offset, length, 'utf8');
    } else {
      buffer.set(payload, offset);
      offset += payload.length;
    }
  }
  return buffer;
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
  return { payloads: [], lengths: [], framed: null, bytes: 0, done, resolve, reject };
}
