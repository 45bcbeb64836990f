/**
 * Times a frame that starts and then stops arriving: one timer at a time, not one per chunk. When it
 * fires it waits again for whatever is left of the timeout since the last bytes came. The frame decoder
 * (decodeFrames) and the secure channel's record reader both use it.
 * @module
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { FrameTimeoutError } from '../errors.js';
import type { FrameDecoder } from '../protocol/frame.js';

/** Watches one decoder's unfinished frame. */
export class FrameStallWatch {
  /** When bytes of the unfinished frame last arrived, on the scheduler's clock. */
  private lastProgress = 0;
  private timer: Subscription | null = null;

  /**
   * @param decoder whose `buffered` bytes say whether a frame is unfinished
   * @param timeoutMs how long an unfinished frame may go without more bytes; Infinity never fires
   * @param onStall told once, when a frame stalled for `timeoutMs`
   */
  constructor(
    private readonly decoder: Pick<FrameDecoder, 'buffered'>,
    private readonly timeoutMs: number,
    private readonly scheduler: SchedulerLike,
    private readonly onStall: (error: FrameTimeoutError) => void,
  ) {}

  /** Call after each chunk is pushed into the decoder: notes progress on an unfinished frame. */
  afterChunk(): void {
    if (this.decoder.buffered === 0 || this.timeoutMs === Number.POSITIVE_INFINITY) return;
    this.lastProgress = this.scheduler.now();
    this.timer ??= this.scheduler.schedule(wakeStallWatch, this.timeoutMs, this);
  }

  /** @internal The timer fired: returns the delay to wait again, or null when the watch is done. */
  check(): number | null {
    if (this.decoder.buffered === 0) {
      this.timer = null;
      return null;
    }
    const idle = this.scheduler.now() - this.lastProgress;
    if (idle < this.timeoutMs) return this.timeoutMs - idle;
    this.timer = null;
    this.onStall(new FrameTimeoutError(this.timeoutMs, this.decoder.buffered));
    return null;
  }

  /** Cancels the timer. */
  stop(): void {
    this.timer?.unsubscribe();
    this.timer = null;
  }
}

/** The timer's scheduled work, shared by every watch: a module function, so a watch holds no closure for it. */
function wakeStallWatch(this: SchedulerAction<FrameStallWatch>, watch?: FrameStallWatch): void {
  const delay = watch!.check();
  if (delay !== null) this.schedule(watch, delay);
}
