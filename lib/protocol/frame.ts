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

/** Views a split payload may collect before it is assembled into one buffer (bounds tiny-chunk floods). */
const MAX_PAYLOAD_PARTS = 64;

/** The first assembly buffer's size, in bytes (less when the payload is shorter). */
const MIN_ASSEMBLY_BYTES = 1024;

/**
 * Incremental frame decoder. Feed it chunks in any split; it calls `onFrame` for each complete
 * payload, in order. It parses in a loop (never recursively), checks the declared length before
 * buffering anything, and copies payload bytes at most once: a payload that lies whole inside one
 * chunk is handed out as a view of that chunk; a split payload is held as views of the chunks it
 * arrived in, so memory grows only with the bytes that really arrived, and is joined once at the end.
 * A payload trickling in as more than 64 pieces is instead copied into one buffer from that point, so
 * tiny chunks cannot pile up bookkeeping; that buffer doubles as bytes arrive, up to the declared size,
 * so memory stays within twice what really arrived.
 */
export class FrameDecoder {
  /** The header bytes read so far, as a number (no buffer per decoder: idle connections stay small). */
  private headerValue = 0;
  private headerFill = 0;
  /** Declared length of the payload being read; -1 between payloads. */
  private payloadLength = -1;
  private payloadFill = 0;
  /** The pieces of a split payload, while they are few. */
  private parts: Uint8Array[] = [];
  /** The payload being assembled, once it came in too many pieces. */
  private assembly: Buffer | null = null;
  private failed: Error | null = null;

  /** False until the first frame's header has been read. */
  private started = false;

  /**
   * @param maxFrameBytes largest payload accepted, in bytes
   * @param maxFirstFrameBytes largest first payload accepted (a handshake needs little, and a peer that
   * has not shaken hands should not make us hold much); defaults to `maxFrameBytes`
   */
  constructor(
    readonly maxFrameBytes: number,
    readonly maxFirstFrameBytes: number = maxFrameBytes,
  ) {}

  /** Bytes held for an unfinished frame (header and payload). */
  get buffered(): number {
    // Once a payload is pending, its header has been consumed but still belongs to the unfinished frame.
    return this.payloadLength < 0 ? this.headerFill : FRAME_HEADER_BYTES + this.payloadFill;
  }

  /**
   * Consumes one chunk, calling `onFrame` (with `target` as `this`) for every payload it completes.
   * @throws FrameTooLargeError when a header declares more than `maxFrameBytes`; the decoder is then
   * unusable and rethrows that error on every later call.
   */
  push<T = void>(chunk: Uint8Array, onFrame: (this: T, payload: Uint8Array) => void, target?: T): void {
    if (this.failed) throw this.failed;
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.payloadLength < 0) {
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
        const first = !this.started;
        const limit = first ? this.maxFirstFrameBytes : this.maxFrameBytes;
        this.started = true;
        if (length > limit) {
          this.failed = new FrameTooLargeError(length, limit, first && limit < this.maxFrameBytes ? 'maxHandshakeBytes' : 'maxFrameBytes');
          throw this.failed;
        }
        if (end - offset >= length) {
          onFrame.call(target as T, chunk.subarray(offset, offset + length));
          offset += length;
          continue;
        }
        this.payloadLength = length;
        this.payloadFill = 0;
      }
      const take = Math.min(this.payloadLength - this.payloadFill, end - offset);
      this.hold(chunk.subarray(offset, offset + take));
      offset += take;
      if (this.payloadFill === this.payloadLength) onFrame.call(target as T, this.takePayload());
    }
  }

  /**
   * Memory held for the unfinished payload, in bytes: the pieces that arrived, or the assembly buffer,
   * which is at most twice the bytes that arrived (or 1 KiB), never the declared length.
   */
  get heldBytes(): number {
    return this.assembly !== null ? this.assembly.length : this.payloadFill;
  }

  /** Keeps one piece of a split payload: as a view while pieces are few, else copied into place. */
  private hold(piece: Uint8Array): void {
    const filled = this.payloadFill + piece.length;
    if (this.assembly === null && this.parts.length < MAX_PAYLOAD_PARTS) {
      this.parts.push(piece);
    } else {
      if (this.assembly === null || filled > this.assembly.length) this.grow(filled);
      this.assembly!.set(piece, this.payloadFill);
    }
    this.payloadFill = filled;
  }

  /**
   * Moves the payload so far into a larger buffer. The size doubles, so copying stays linear, but is
   * capped by the declared length: a header is only a claim, and the bytes must arrive to cost memory.
   */
  private grow(needed: number): void {
    const doubled = 2 * (this.assembly?.length ?? 0);
    const next = Buffer.allocUnsafe(Math.min(this.payloadLength, Math.max(needed, doubled, MIN_ASSEMBLY_BYTES)));
    if (this.assembly !== null) {
      next.set(this.assembly.subarray(0, this.payloadFill));
    } else {
      let at = 0;
      for (const part of this.parts) {
        next.set(part, at);
        at += part.length;
      }
      this.parts = [];
    }
    this.assembly = next;
  }

  /** Hands out the finished payload (its bytes copied exactly once) and resets for the next frame. */
  private takePayload(): Uint8Array {
    const payload = this.assembly ?? Buffer.concat(this.parts, this.payloadLength);
    this.release();
    return payload;
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
    this.payloadLength = -1;
    this.parts = [];
    this.assembly = null;
    this.payloadFill = 0;
    this.headerValue = 0;
    this.headerFill = 0;
  }
}
