import { Observable, Subscriber, type OperatorFunction } from 'rxjs';
import { DEFAULTS } from '../defaults.js';
import { FrameDecoder } from '../protocol/frame.js';

/** Options for {@link decodeFrames}. */
export interface DecodeFramesConfig {
  /** Largest payload accepted, in bytes. @defaultValue `DEFAULTS.maxFrameBytes` (1 MiB) */
  maxFrameBytes?: number;
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
 * completes mid-frame. Unsubscribing releases any partial frame.
 * @example
 * socketChunks$.pipe(decodeFrames({ maxFrameBytes: 65_536 }))
 */
export function decodeFrames(config: DecodeFramesConfig = {}): OperatorFunction<Uint8Array, Uint8Array> {
  const maxFrameBytes = config.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
  return (source) =>
    new Observable<Uint8Array>((subscriber) => {
      const decoder = new FrameDecoder(maxFrameBytes);
      const emit = (payload: Uint8Array): void => subscriber.next(payload);
      // A Subscriber linked to the downstream one: unsubscribing downstream closes it, which also stops a
      // synchronous source (a plain observer would keep being called). One decoder per subscription.
      const upstream = new Subscriber<Uint8Array>({
        next(chunk) {
          try {
            decoder.push(chunk, emit);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete() {
          try {
            decoder.end();
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.complete();
        },
      });
      subscriber.add(upstream);
      subscriber.add(() => decoder.release());
      source.subscribe(upstream);
    });
}
