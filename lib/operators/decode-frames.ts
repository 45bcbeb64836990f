import { concatMap, concatWith, defer, EMPTY, finalize, Observable, type OperatorFunction } from 'rxjs';
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
    defer(() => {
      const decoder = new FrameDecoder(maxFrameBytes);
      // Built from linked operators so that unsubscribing downstream also stops a synchronous source.
      return source.pipe(
        concatMap(
          (chunk) =>
            new Observable<Uint8Array>((frames) => {
              decoder.push(chunk, (payload) => frames.next(payload));
              frames.complete();
            }),
        ),
        concatWith(
          defer(() => {
            decoder.end();
            return EMPTY;
          }),
        ),
        finalize(() => decoder.release()),
      );
    });
}
