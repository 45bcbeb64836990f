/**
 * Framing: each frame is a 4-byte unsigned big-endian payload length followed by that many bytes.
 * Pure byte handling: no sockets, no timers.
 * @module
 */
import { FrameTooLargeError, IncompleteFrameError } from '../errors.js';

/** Bytes in a frame header. */
export const FRAME_HEADER_BYTES = 4;

/** Largest length a 4-byte header can declare. */
export const MAX_DECLARABLE_LENGTH = 0xffff_ffff;

/**
 * Frames one payload: header and payload in one new buffer.
 * @throws FrameTooLargeError when the payload is longer than `maxFrameBytes`.
 */
export function encodeFrame(payload: Uint8Array, maxFrameBytes: number = MAX_DECLARABLE_LENGTH): Buffer {
  if (payload.length > maxFrameBytes) throw new FrameTooLargeError(payload.length, maxFrameBytes);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Frames a string as UTF-8 with a single copy: the text is written straight after the header.
 * @throws FrameTooLargeError when the encoded text is longer than `maxFrameBytes`.
 */
export function encodeTextFrame(text: string, maxFrameBytes: number = MAX_DECLARABLE_LENGTH): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}

/**
 * Incremental frame decoder. Feed it chunks in any split; it calls `onFrame` for each complete
 * payload, in order. It parses in a loop (never recursively), checks the declared length before
 * buffering anything, and copies payload bytes at most once: a payload that lies whole inside one
 * chunk is handed out as a view of that chunk, otherwise it is assembled into one buffer of exactly
 * the declared size.
 */
export class FrameDecoder {
  /** The header bytes read so far, as a number (no buffer per decoder: idle connections stay small). */
  private headerValue = 0;
  private headerFill = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private failed: Error | null = null;

  /** @param maxFrameBytes largest payload accepted, in bytes */
  constructor(readonly maxFrameBytes: number) {}

  /** Bytes held for an unfinished frame (header and payload). */
  get buffered(): number {
    // Once a payload is pending, its header has been consumed but still belongs to the unfinished frame.
    return this.payload === null ? this.headerFill : FRAME_HEADER_BYTES + this.payloadFill;
  }

  /**
   * Consumes one chunk.
   * @throws FrameTooLargeError when a header declares more than `maxFrameBytes`; the decoder is then
   * unusable and rethrows that error on every later call.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    if (this.failed) throw this.failed;
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.payload === null) {
        let length: number;
        if (this.headerFill === 0 && end - offset >= FRAME_HEADER_BYTES) {
          // Fast path: the whole header is in this chunk.
          length = ((chunk[offset]! << 24) >>> 0) + (chunk[offset + 1]! << 16) + (chunk[offset + 2]! << 8) + chunk[offset + 3]!;
          offset += FRAME_HEADER_BYTES;
        } else {
          while (this.headerFill < FRAME_HEADER_BYTES && offset < end) {
            this.headerValue = this.headerValue * 256 + chunk[offset++]!;
            this.headerFill++;
          }
          if (this.headerFill < FRAME_HEADER_BYTES) return;
          length = this.headerValue;
          this.headerValue = 0;
          this.headerFill = 0;
        }
        if (length > this.maxFrameBytes) {
          this.failed = new FrameTooLargeError(length, this.maxFrameBytes);
          throw this.failed;
        }
        if (end - offset >= length) {
          onFrame(chunk.subarray(offset, offset + length));
          offset += length;
          continue;
        }
        this.payload = Buffer.allocUnsafe(length);
        this.payloadFill = 0;
      }
      const take = Math.min(this.payload.length - this.payloadFill, end - offset);
      this.payload.set(chunk.subarray(offset, offset + take), this.payloadFill);
      this.payloadFill += take;
      offset += take;
      if (this.payloadFill === this.payload.length) {
        const done = this.payload;
        this.payload = null;
        this.payloadFill = 0;
        onFrame(done);
      }
    }
  }

  /**
   * Declares the end of the stream.
   * @throws IncompleteFrameError when it ends inside a frame.
   */
  end(): void {
    const held = this.buffered;
    this.release();
    if (held > 0) throw new IncompleteFrameError(held);
  }

  /** Drops any partial frame so its memory can be reclaimed. */
  release(): void {
    this.payload = null;
    this.payloadFill = 0;
    this.headerValue = 0;
    this.headerFill = 0;
  }
}
