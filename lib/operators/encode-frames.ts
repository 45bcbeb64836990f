import { map, type OperatorFunction } from 'rxjs';
import { DEFAULTS } from '../defaults.js';
import { encodeFrame } from '../protocol/frame.js';

/** Options for {@link encodeFrames}. */
export interface EncodeFramesConfig {
  /** Largest payload sent, in bytes. @defaultValue `DEFAULTS.maxFrameBytes` (1 MiB) */
  maxFrameBytes?: number;
}

/**
 * Prefixes each payload with its 4-byte big-endian length.
 *
 * ```
 * payloads: --[41]------|
 * frames:   --[00 00 00 01 41]--|
 * ```
 *
 * Errors with `FrameTooLargeError` when a payload exceeds `maxFrameBytes`.
 */
export function encodeFrames(config: EncodeFramesConfig = {}): OperatorFunction<Uint8Array, Uint8Array> {
  const maxFrameBytes = config.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
  return map((payload) => encodeFrame(payload, maxFrameBytes));
}
