import { expect } from 'chai';
import { VirtualTimeScheduler, type Subscription } from 'rxjs';
import { FrameTimeoutError, type PnetworkError } from '../../lib/errors.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { until, withDeadline } from '../helpers/wait.js';

const WAIT_MS = 5000;

describe('integration: inbound limits', () => {
  let cleanups: Array<() => Promise<unknown> | void> = [];
  let subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const sub of subscriptions) sub.unsubscribe();
    subscriptions = [];
    for (const cleanup of cleanups.reverse()) await withDeadline(Promise.resolve(cleanup()), WAIT_MS, 'cleanup');
    cleanups = [];
  });

  async function startServer(options: ServerOptions = {}): Promise<{ server: Server; errors: PnetworkError[] }> {
    const server = new Server({ port: 0, ...options });
    const errors: PnetworkError[] = [];
    subscriptions.push(server.error$.subscribe((error) => errors.push(error)));
    cleanups.push(() => server.stop());
    await server.start();
    return { server, errors };
  }

  async function rawClient(server: Server): Promise<RawClient> {
    const raw = await RawClient.connect(server.address().port);
    cleanups.push(() => raw.destroy());
    return raw;
  }

  describe('incompleteFrameTimeoutMs', () => {
    it('closes a connection whose frame starts and stalls, with ERR_FRAME_TIMEOUT, on the injected scheduler', async () => {
      const scheduler = new VirtualTimeScheduler();
      const { server, errors } = await startServer({ scheduler, heartbeatIntervalMs: 0, incompleteFrameTimeoutMs: 30_000 });
      const raw = await rawClient(server);
      await raw.handshake();
      const before = server.stats().bytesIn;
      raw.sendRaw(Buffer.from('0000001041', 'hex')); // declares 16 bytes, sends 1
      await until(() => server.stats().bytesIn === before + 5, WAIT_MS, 'the partial frame to arrive');
      expect(raw.hasClosed).to.equal(false);
      scheduler.flush(); // 30 s of virtual time pass
      const error = await raw.waitFor((frame) => frame.action === 'error', 'the error packet');
      expect(error.data).to.include({ code: 'ERR_FRAME_TIMEOUT' });
      await raw.waitClosed();
      await until(() => errors.some((e) => e instanceof FrameTimeoutError), WAIT_MS, 'FrameTimeoutError on error$');
      expect(errors.find((e) => e instanceof FrameTimeoutError)).to.include({ timeoutMs: 30_000, received: 5 });
    });
  });
});
