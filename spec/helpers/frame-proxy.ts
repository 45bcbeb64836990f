// A man in the middle on loopback: forwards the bytes between a client and a server and records them
// all. Given a tamper, it forwards frame by frame (4-byte length + payload) instead, so that a spec can
// change, drop, replay or reorder frames on the way; without one it passes any bytes on as they come
// (TLS records included).
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';

/** Which way a frame travels. */
export type Direction = 'toServer' | 'toClient';

/**
 * Called for every whole frame (header included), counted per direction and connection from 0; returns
 * the frames to forward in its place (none to drop it, two to replay it, a changed one to tamper).
 */
export type FrameTamper = (direction: Direction, index: number, frame: Buffer) => Buffer[];

/** Splits a byte stream into whole frames, header included. */
class FrameCutter {
  private held = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.held = Buffer.concat([this.held, chunk]);
    const frames: Buffer[] = [];
    while (this.held.length >= 4) {
      const size = 4 + this.held.readUInt32BE(0);
      if (this.held.length < size) break;
      frames.push(this.held.subarray(0, size));
      this.held = this.held.subarray(size);
    }
    return frames;
  }
}

export class FrameProxy {
  /** Every byte each way, as received (before tampering). */
  readonly toServer: Buffer[] = [];
  readonly toClient: Buffer[] = [];
  /** TCP connections accepted so far. */
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private readonly listener: NetServer;
  /** The latest connection's socket for each direction: where a frame sent that way is written. */
  private readonly latest: Partial<Record<Direction, Socket>> = {};

  /** @param tamper sees every frame; without it, bytes pass unchanged and unparsed */
  constructor(
    target: number,
    private readonly tamper: FrameTamper | null = null,
  ) {
    this.listener = createServer((inbound) => {
      this.connections++;
      const outbound = connect({ host: '127.0.0.1', port: target });
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => this.sockets.delete(socket));
      }
      this.latest.toServer = outbound;
      this.latest.toClient = inbound;
      this.forward(inbound, outbound, 'toServer');
      this.forward(outbound, inbound, 'toClient');
    });
  }

  private forward(from: Socket, to: Socket, direction: Direction): void {
    const tamper = this.tamper;
    const cutter = new FrameCutter();
    let index = 0;
    from.on('data', (chunk: Buffer) => {
      this[direction].push(chunk);
      if (tamper === null) to.write(chunk);
      else for (const frame of cutter.push(chunk)) for (const out of tamper(direction, index++, Buffer.from(frame))) to.write(out);
    });
    from.on('end', () => to.end());
    from.on('close', () => to.destroy());
  }

  /** Writes `frame` on the latest connection as if it travelled `direction` (to reflect a frame, say). */
  inject(direction: Direction, frame: Buffer): void {
    this.latest[direction]?.write(frame);
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.listener.listen(0, '127.0.0.1', () => resolve((this.listener.address() as { port: number }).port)));
  }

  /** Both directions' bytes as one latin1 string, for searching. */
  capture(): string {
    return Buffer.concat([...this.toServer, ...this.toClient]).toString('latin1');
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.listener.close(() => resolve()));
  }
}
