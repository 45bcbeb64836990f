import { Observable, Subscriber, asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { DEFAULTS } from '../defaults.js';
import { FrameDecoder } from '../protocol/frame.js';
import { FrameStallWatch } from './frame-stall-watch.js';

/** Options for {@link decodeFrames}. */
export interface DecodeFramesConfig {
  /** Largest payload accepted, in bytes. @defaultValue `DEFAULTS.maxFrameBytes` (1 MiB) */
  maxFrameBytes?: number;
  /** Largest first payload accepted (a handshake), in bytes. @defaultValue `maxFrameBytes` */
  maxFirstFrameBytes?: number;
  /**
   * Time a started frame may go without receiving more bytes, in ms; then the stream errors with
   * `FrameTimeoutError`. Infinity turns the check off. @defaultValue Infinity (Server and Client pass
   * `DEFAULTS.incompleteFrameTimeoutMs`, 30 s)
   */
  incompleteFrameTimeoutMs?: number;
  /** Drives the incomplete-frame timer. @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
}

/**
 * Turns a stream of byte chunks, split anywhere, into a stream of frame payloads.
 *
 * ```
 * chunks:   --[00 00]--[00 01 41 00 00 00 00]--|
 * payloads: ------------[41]------[]-----------|
 * ```
 *
 * Each subscription gets its own decoder. Errors with `FrameTooLargeError` when a header declares more
 * than `maxFrameBytes` (before any payload is buffered), and with `IncompleteFrameError` when the source
 * completes mid-frame, and with `FrameTimeoutError` when a started frame stalls for
 * `incompleteFrameTimeoutMs`. Unsubscribing releases any partial frame and cancels the timer.
 * @example
 * chunks$.pipe(decodeFrames({ maxFrameBytes: 65_536 }))
 */
export function decodeFrames(config: DecodeFramesConfig = {}): OperatorFunction<Uint8Array, Uint8Array> {
  const maxFrameBytes = config.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
  return (source) =>
    new Observable<Uint8Array>((subscriber) => {
      const splitter = new FrameSplitter(new FrameDecoder(maxFrameBytes, config.maxFirstFrameBytes), subscriber, config);
      // A Subscriber linked to the downstream one: unsubscribing downstream closes it, which also stops a
      // synchronous source (a plain observer would keep being called). One decoder per subscription.
      const upstream = new Subscriber<Uint8Array>(splitter);
      subscriber.add(upstream);
      subscriber.add(splitter);
      source.subscribe(upstream);
    });
}

/** Pushes chunks through one decoder into one subscriber; a class, so a connection holds no closures for it. */
class FrameSplitter {
  private readonly emit: (payload: Uint8Array) => void;
  private readonly stall: FrameStallWatch;

  constructor(
    private readonly decoder: FrameDecoder,
    private readonly subscriber: Subscriber<Uint8Array>,
    config: Pick<DecodeFramesConfig, 'incompleteFrameTimeoutMs' | 'scheduler'>,
  ) {
    this.emit = (payload) => subscriber.next(payload);
    this.stall = new FrameStallWatch(decoder, config.incompleteFrameTimeoutMs ?? Number.POSITIVE_INFINITY, config.scheduler ?? asyncScheduler, (error) => subscriber.error(error));
  }

  next(chunk: Uint8Array): void {
    try {
      this.decoder.push(chunk, this.emit);
    } catch (err) {
      this.subscriber.error(err);
      return;
    }
    this.stall.afterChunk();
  }

  error(err: unknown): void {
    this.subscriber.error(err);
  }

  complete(): void {
    try {
      this.decoder.end();
    } catch (err) {
      this.subscriber.error(err);
      return;
    }
    this.subscriber.complete();
  }

  /** Teardown: releases any partial frame and stops the timer. */
  unsubscribe(): void {
    this.stall.stop();
    this.decoder.release();
  }
}
