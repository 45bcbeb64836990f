import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that can freeze: it stops moving bytes in both directions while both sockets stay
 * open, which is what a hung peer or a dead network path looks like.
 */
export class FreezeProxy {
  private readonly server: Server;
  private readonly pairs: Array<[Socket, Socket]> = [];

  constructor(private readonly targetPort: number) {
    this.server = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: this.targetPort });
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      const destroy = (): void => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', destroy).on('close', destroy);
      outbound.on('error', destroy).on('close', destroy);
      this.pairs.push([inbound, outbound]);
    });
  }

  /** Listens on 127.0.0.1 with a free port and returns it. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address !== 'object') throw new Error('proxy has no address');
    return address.port;
  }

  /** Stops forwarding in both directions without closing anything. */
  freeze(): void {
    for (const [inbound, outbound] of this.pairs) {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      inbound.pause();
      outbound.pause();
    }
  }

  /** Closes every socket and the listener. */
  async close(): Promise<void> {
    for (const [inbound, outbound] of this.pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
