// A raw TCP peer for integration specs: writes frames (4-byte big-endian length + JSON) by hand,
// records every byte and decoded frame it receives, and can perform the handshake itself.
import { connect, type Socket } from 'node:net';
import { PROTOCOL_VERSION } from '../../lib/defaults.js';
import { withDeadline } from './wait.js';

/** A frame as received: the parsed JSON (or null when it is not JSON). */
export interface WirePacket {
  readonly action?: unknown;
  readonly data?: unknown;
  readonly token?: unknown;
  readonly id?: unknown;
  readonly 'packet-created'?: unknown;
  readonly [key: string]: unknown;
}

const DEFAULT_WAIT_MS = 3000;

export class RawClient {
  /** Every decoded frame, in arrival order. */
  readonly frames: WirePacket[] = [];
  /** Resolves once the socket has closed. */
  readonly closed: Promise<void>;
  /** The token from the server's handshake reply, after {@link handshake}. */
  token: string | null = null;
  private readonly chunks: Buffer[] = [];
  private buffered = Buffer.alloc(0);
  private readonly listeners = new Set<() => void>();
  private isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // resets are expected when the server closes on us
    this.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
        this.notify();
      }),
    );
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number, ms = DEFAULT_WAIT_MS): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    const client = new RawClient(socket);
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      }),
      ms,
      `raw connect to port ${port}`,
    );
    return client;
  }

  /** Every byte received so far. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** True once the socket has closed. */
  get hasClosed(): boolean {
    return this.isClosed;
  }

  /** Writes raw bytes. */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Writes one frame: a 4-byte big-endian length, then the payload. */
  sendFrame(payload: string | Uint8Array): void {
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    this.socket.write(Buffer.concat([header, body]));
  }

  /** Writes one packet as a JSON frame. */
  sendPacket(packet: Record<string, unknown>): void {
    this.sendFrame(JSON.stringify(packet));
  }

  /** Sends a user packet carrying this client's own token (or `token` when given). */
  send(action: string, data: unknown, extra: Record<string, unknown> = {}): void {
    this.sendPacket({ action, data, 'packet-created': Date.now(), token: this.token, ...extra });
  }

  /** Performs the client side of the handshake by hand and returns the issued token. */
  async handshake(protocol: unknown = PROTOCOL_VERSION, ms = DEFAULT_WAIT_MS): Promise<string> {
    this.sendPacket({ action: 'handshake', data: { protocol }, 'packet-created': Date.now(), token: null });
    const reply = await this.waitFor((frame) => frame.action === 'handshake', 'the handshake reply', ms);
    const data = reply.data as { token?: unknown };
    if (typeof data.token !== 'string') throw new Error(`handshake reply without a token: ${JSON.stringify(reply)}`);
    this.token = data.token;
    return data.token;
  }

  /** The first frame (already received or still to come) that matches; rejects after `ms` or on close. */
  waitFor(match: (frame: WirePacket) => boolean, what: string, ms = DEFAULT_WAIT_MS): Promise<WirePacket> {
    return new Promise<WirePacket>((resolve, reject) => {
      const check = (): void => {
        const found = this.frames.find(match);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.isClosed) {
          done();
          reject(new Error(`socket closed while waiting for ${what}; frames: ${JSON.stringify(this.frames)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; frames: ${JSON.stringify(this.frames)}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves once the server has closed the socket; rejects after `ms`. */
  waitClosed(ms = DEFAULT_WAIT_MS): Promise<void> {
    return withDeadline(this.closed, ms, 'the server to close the raw socket');
  }

  /** Resets the connection (TCP RST instead of FIN) and waits for the socket to close. */
  async reset(): Promise<void> {
    this.socket.resetAndDestroy();
    await this.closed;
  }

  /** Destroys the socket and waits for it to close. */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (this.buffered.length < 4 + length) break;
      const text = this.buffered.subarray(4, 4 + length).toString('utf8');
      this.buffered = this.buffered.subarray(4 + length);
      let parsed: WirePacket;
      try {
        parsed = JSON.parse(text) as WirePacket;
      } catch {
        parsed = { unparsed: text };
      }
      this.frames.push(parsed);
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
