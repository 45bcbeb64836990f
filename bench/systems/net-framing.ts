/**
 * The framing both node:net floors share: a 4-byte big-endian length, then UTF-8 JSON. Writes made in
 * one tick are coalesced into one socket.write; the reader copies only the bytes of a frame that a read
 * split, and parses every whole frame in place in the chunk it arrived in. The floors differ only in
 * what they put inside a frame, so their difference is the envelope's cost alone.
 * @module
 */
import type net from 'node:net';

const FLUSH_BYTES = 64 * 1024;

/** Largest frame a floor accepts, in bytes; a longer declared length is an error before any buffering. */
export const MAX_FRAME = 1024 * 1024;

/** A frame holding `text`: 4-byte big-endian length, then the text as UTF-8. */
export function encodeFrame(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, 4, 'utf8');
  return frame;
}

/** Coalesces the frames written during one tick into one socket.write (sooner, once 64 KiB are pending). */
export class Writer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(private readonly socket: net.Socket) {}

  /** Queues a frame; returns false when the socket asks the writer to wait for 'drain'. */
  write(frame: Buffer): boolean {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
    return !this.socket.writableNeedDrain;
  }

  /** Writes everything pending now. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.socket.destroyed) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.write(chunk);
  }
}

/**
 * Splits a byte stream into frames and hands each frame's text to `onText`. A frame split across reads
 * is assembled in a buffer of exactly its length (its header in a 4-byte one), so a read that follows
 * a split frame costs a copy of that frame's missing bytes only, never of the whole read.
 */
export function frameReader(onText: (text: string) => void, onError: (error: Error) => void): (chunk: Buffer) => void {
  const header = Buffer.allocUnsafe(4);
  let headerHeld = 0;
  let body: Buffer | null = null;
  let bodyHeld = 0;
  let failed = false;

  const tooLong = (length: number): boolean => {
    if (length <= MAX_FRAME) return false;
    failed = true;
    onError(new Error(`frame of ${length} bytes exceeds ${MAX_FRAME}`));
    return true;
  };

  return (chunk) => {
    if (failed) return;
    let offset = 0;
    // Finish the frame a previous read split, if any.
    if (headerHeld > 0) {
      const taken = chunk.copy(header, headerHeld, 0, Math.min(4 - headerHeld, chunk.length));
      headerHeld += taken;
      offset = taken;
      if (headerHeld < 4) return;
      headerHeld = 0;
      const length = header.readUInt32BE(0);
      if (tooLong(length)) return;
      body = Buffer.allocUnsafe(length);
      bodyHeld = 0;
    }
    if (body !== null) {
      const taken = chunk.copy(body, bodyHeld, offset, Math.min(chunk.length, offset + body.length - bodyHeld));
      bodyHeld += taken;
      offset += taken;
      if (bodyHeld < body.length) return;
      const text = body.toString('utf8');
      body = null;
      onText(text);
    }
    // Whole frames, parsed where they lie.
    while (chunk.length - offset >= 4) {
      const length = chunk.readUInt32BE(offset);
      if (tooLong(length)) return;
      const start = offset + 4;
      if (chunk.length - start < length) {
        body = Buffer.allocUnsafe(length);
        bodyHeld = chunk.copy(body, 0, start);
        return;
      }
      offset = start + length;
      onText(chunk.toString('utf8', start, offset));
    }
    if (offset < chunk.length) headerHeld = chunk.copy(header, 0, offset);
  };
}
