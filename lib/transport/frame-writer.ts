/**
 * Frames to a socket: writes made in the same tick are corked together, and writes wait for 'drain'
 * once the socket's buffer is full.
 * @module
 */
import type { Socket } from 'node:net';
import { ConnectionClosedError, SendBufferFullError } from '../errors.js';

interface Pending {
  frame: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Writes frames to one socket in order, honouring backpressure. */
export class FrameWriter {
  private readonly waiting: Pending[] = [];
  private waitingBytes = 0;
  private blocked = false;
  private corked = false;
  private closedWith: Error | null = null;

  /**
   * @param socket the socket to write to
   * @param maxWaitingBytes bytes that may wait for 'drain' before further writes are refused
   */
  constructor(
    private readonly socket: Socket,
    private readonly maxWaitingBytes: number,
  ) {
    socket.on('drain', this.onDrain);
  }

  /** Bytes waiting for the socket to drain. */
  get pendingBytes(): number {
    return this.waitingBytes;
  }

  /**
   * Hands a frame to the socket, or queues it while the socket is full.
   * Resolves once the frame is handed to the socket; rejects if the socket closes first.
   */
  write(frame: Buffer): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.blocked) {
      if (this.waitingBytes + frame.length > this.maxWaitingBytes) {
        return Promise.reject(new SendBufferFullError(this.maxWaitingBytes));
      }
      return new Promise<void>((resolve, reject) => {
        this.waiting.push({ frame, resolve, reject });
        this.waitingBytes += frame.length;
      });
    }
    this.handOver(frame);
    return Promise.resolve();
  }

  /** Rejects everything still waiting and refuses later writes. */
  close(error: Error = new ConnectionClosedError()): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.off('drain', this.onDrain);
    for (const pending of this.waiting.splice(0)) pending.reject(error);
    this.waitingBytes = 0;
  }

  private handOver(frame: Buffer): void {
    if (!this.corked) {
      // Coalesce every write of this tick into one syscall.
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    if (!this.socket.write(frame)) this.blocked = true;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    while (!this.blocked && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.waitingBytes -= next.frame.length;
      this.handOver(next.frame);
      next.resolve();
    }
  };
}
