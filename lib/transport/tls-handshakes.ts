/**
 * The TLS handshakes a listening server has in progress: each is given up when it takes longer than the
 * handshake timeout, and all are given up when the server stops. Node's own `handshakeTimeout` runs on
 * the wall clock and `server.close()` waits for these sockets, so a peer that connects and never sends
 * a ClientHello would otherwise hold a stop for two minutes.
 * @module
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SchedulerLike, Subscription } from 'rxjs';
import { TlsHandshakeError } from '../errors.js';

/** The raw TCP sockets whose TLS handshake has not finished, each with its timeout. */
export class TlsHandshakes {
  private readonly pending = new Map<Socket, Subscription>();
  /** Sockets given up here, whose handshake error Node reports next: not the client's failure. */
  private readonly givenUp = new WeakSet<Socket>();
  /** Sockets whose connection the server took over: their own close releases their place. */
  private readonly handedOver = new WeakSet<Socket>();

  /**
   * @param onTimeout hears a handshake given up for taking too long
   * @param onGone hears a socket close that was never handed over (from host `host`)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly scheduler: SchedulerLike,
    private readonly onTimeout: (error: TlsHandshakeError) => void,
    private readonly onGone: (host: string) => void,
  ) {}

  /** Handshakes in progress. */
  get size(): number {
    return this.pending.size;
  }

  /** A TCP connection whose handshake starts now. */
  begin(raw: Socket): void {
    const timer = this.scheduler.schedule(() => {
      if (!this.pending.delete(raw)) return;
      this.givenUp.add(raw);
      raw.destroy();
      this.onTimeout(new TlsHandshakeError(`TLS handshake with a client not finished within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
    this.pending.set(raw, timer);
    const host = raw.remoteAddress ?? '?';
    raw.once('close', () => {
      this.settle(raw);
      if (!this.handedOver.has(raw)) this.onGone(host);
    });
  }

  /** A handshake that finished; its TCP socket, to hand over once the peer passed the checks. */
  finished(socket: TLSSocket): Socket | undefined {
    const raw = rawSocketOf(socket);
    if (raw) this.settle(raw);
    return raw;
  }

  /** The server took the connection over (after {@link finished}). */
  handOver(raw: Socket): void {
    this.handedOver.add(raw);
  }

  /** A handshake that failed; false when it failed because it was given up here (nothing to report). */
  failed(socket: TLSSocket): boolean {
    const raw = rawSocketOf(socket);
    if (!raw) return true;
    this.settle(raw);
    return !this.givenUp.has(raw);
  }

  /** Gives up every handshake in progress (the server is stopping). */
  abortAll(): void {
    for (const raw of [...this.pending.keys()]) {
      this.settle(raw);
      this.givenUp.add(raw);
      raw.destroy();
    }
  }

  private settle(raw: Socket): void {
    this.pending.get(raw)?.unsubscribe();
    this.pending.delete(raw);
  }
}

/**
 * The TCP socket a server-side TLS socket was made from. Node keeps it as `_parent` and has no public
 * accessor; the TLS specs fail (a live connection is cut at the handshake timeout) if that changes.
 */
function rawSocketOf(socket: TLSSocket): Socket | undefined {
  return (socket as TLSSocket & { _parent?: Socket })._parent;
}
