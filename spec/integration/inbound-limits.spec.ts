import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { ConnectionLimitError, FrameTimeoutError, RateLimitedError, RemoteError, type PnetworkError } from '../../lib/errors.js';
import { Observable } from 'rxjs';
import { Client } from '../../lib/client.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import type { RawClient } from '../helpers/raw-client.js';
import { until, withDeadline } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';

const WAIT_MS = 5000;

describe('integration: inbound limits', () => {
  const scope = specScope(WAIT_MS);
  const { cleanups } = scope;

  async function startServer(options: ServerOptions = {}): Promise<{ server: Server; errors: PnetworkError[] }> {
    const server = new Server({ port: 0, ...options });
    const errors = scope.collect(server.error$);
    return { server: await scope.started(server), errors };
  }

  function rawClient(server: Server): Promise<RawClient> {
    return scope.rawClient(server.address().port);
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

  describe('maxConcurrentHandlers', () => {
    it('runs at most that many handlers at once for one connection, pauses reading meanwhile, and answers all in order', async () => {
      const { server } = await startServer({ maxConcurrentHandlers: 2 });
      let running = 0;
      let most = 0;
      let sawPaused = false;
      const waiting: Array<() => void> = [];
      server.bindAction('slow', (n: number, _packet, connection) =>
        new Promise<number>((resolve) => {
          running++;
          most = Math.max(most, running);
          if (connection.readingPaused) sawPaused = true;
          waiting.push(() => {
            running--;
            resolve(n);
          });
        }),
      );
      const raw = await rawClient(server);
      await raw.handshake();
      for (let i = 1; i <= 10; i++) raw.send('slow', i, { id: i });
      // Let the handlers finish one at a time, each after the next one has started.
      for (let done = 0; done < 10; done++) {
        await until(() => waiting.length > 0, WAIT_MS, `handler ${done + 1} to run`);
        if (done < 8) {
          await until(() => running === 2, WAIT_MS, 'two handlers in flight');
          const connection = [...server.clients.values()][0]!;
          expect(connection.readingPaused).to.equal(true);
        }
        waiting.shift()!();
      }
      await until(() => raw.frames.filter((f) => f.action === 'reply').length === 10, WAIT_MS, 'ten replies');
      expect(most).to.equal(2);
      expect(sawPaused).to.equal(true);
      expect(raw.frames.filter((f) => f.action === 'reply').map((f) => f.data)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await until(() => ![...server.clients.values()][0]!.readingPaused, WAIT_MS, 'reading to resume');
    });

    it('keeps other connections unaffected while one is at its limit', async () => {
      const { server } = await startServer({ maxConcurrentHandlers: 1 });
      server.bindAction('never', () => new Promise<never>(() => undefined));
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      const raw = await rawClient(server);
      await raw.handshake();
      for (let i = 1; i <= 5; i++) raw.send('never', null, { id: i });
      const client = new Client({ port: server.address().port, reconnect: false });
      cleanups.push(() => client.stop());
      await client.start();
      expect(await withDeadline(client.request('sum', { a: 2, b: 3 }), WAIT_MS, 'the other client')).to.equal(5);
    });

    it('defaults to DEFAULTS.maxConcurrentHandlers and refuses a limit below 1', () => {
      expect(DEFAULTS.maxConcurrentHandlers).to.equal(256);
      expect(() => new Server({ maxConcurrentHandlers: 0 })).to.throw(RangeError, 'maxConcurrentHandlers');
      expect(() => new Server({ maxConcurrentHandlers: 1.5 })).to.throw(RangeError, 'maxConcurrentHandlers');
    });
  });

  describe('handler subscriptions', () => {
    it('end when their connection closes: an Observable that never completes is unsubscribed', async () => {
      const { server } = await startServer();
      let subscribed = 0;
      let unsubscribed = 0;
      server.bindAction('forever', () =>
        new Observable<never>(() => {
          subscribed++;
          return () => void unsubscribed++;
        }),
      );
      const client = new Client({ port: server.address().port, reconnect: false });
      cleanups.push(() => client.stop());
      await client.start();
      void client.request('forever', null).catch(() => undefined);
      await client.sendPacket('forever', null);
      await until(() => subscribed === 2, WAIT_MS, 'both handlers to subscribe');
      expect(unsubscribed).to.equal(0);
      await client.stop();
      await until(() => unsubscribed === 2, WAIT_MS, 'both subscriptions to end');
    });
  });

  describe('maxPacketsPerSecond', () => {
    it('refuses packets over the rate with ERR_RATE_LIMITED and handles them again once virtual time refills the bucket', async () => {
      const scheduler = new VirtualTimeScheduler();
      const { server, errors } = await startServer({ scheduler, heartbeatIntervalMs: 0, maxPacketsPerSecond: 5 });
      const seen: number[] = [];
      server.bindAction('n', (n: number) => void seen.push(n));
      server.bindAction('echo', (n: number) => n);
      const raw = await rawClient(server);
      await raw.handshake();
      for (let i = 1; i <= 7; i++) raw.send('n', i);
      raw.send('echo', 8, { id: 8 });
      await until(() => raw.frames.filter((f) => f.action === 'error').length === 3, WAIT_MS, 'three refusals');
      expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
      const refusals = raw.frames.filter((f) => f.action === 'error');
      expect(refusals.map((f) => (f.data as { code: string }).code)).to.deep.equal(['ERR_RATE_LIMITED', 'ERR_RATE_LIMITED', 'ERR_RATE_LIMITED']);
      expect(refusals[2]!.id).to.equal(8); // the refused request is answered, so it does not wait for its timeout
      expect(errors.filter((e) => e instanceof RateLimitedError)).to.have.length(3);
      // One virtual second later the bucket is full again.
      scheduler.schedule(() => undefined, 1000);
      scheduler.flush();
      raw.send('echo', 9, { id: 9 });
      const reply = await raw.waitFor((f) => f.action === 'reply' && f.id === 9, 'the reply after the refill');
      expect(reply.data).to.equal(9);
      expect(raw.hasClosed).to.equal(false);
    });

    it('closes a connection whose flood goes on: more refusals than the limit within one second', async () => {
      const scheduler = new VirtualTimeScheduler();
      const { server, errors } = await startServer({ scheduler, heartbeatIntervalMs: 0, maxPacketsPerSecond: 3 });
      server.bindAction('n', () => undefined);
      const raw = await rawClient(server);
      await raw.handshake();
      for (let i = 0; i < 20; i++) raw.send('n', i);
      await raw.waitClosed();
      expect(errors.some((e) => e instanceof RateLimitedError && e.flood)).to.equal(true);
    });

    it('is off by default and refuses a rate that is not a positive integer', () => {
      expect(DEFAULTS.maxPacketsPerSecond).to.equal(Number.POSITIVE_INFINITY);
      expect(() => new Server({ maxPacketsPerSecond: 0 })).to.throw(RangeError, 'maxPacketsPerSecond');
      expect(() => new Server({ maxPacketsPerSecond: Number.NaN })).to.throw(RangeError, 'maxPacketsPerSecond');
    });
  });

  describe('maxConnections and maxConnectionsPerAddress', () => {
    it('refuses a connection past maxConnections with an ERR_CONNECTION_LIMIT error packet, and accepts again once one leaves', async () => {
      const { server, errors } = await startServer({ maxConnections: 2 });
      const first = await rawClient(server);
      const second = await rawClient(server);
      await first.handshake();
      await second.handshake();
      const third = await rawClient(server);
      const refused = await third.waitFor((f) => f.action === 'error', 'the refusal');
      expect(refused.data).to.include({ code: 'ERR_CONNECTION_LIMIT' });
      await third.waitClosed();
      await until(() => errors.some((e) => e instanceof ConnectionLimitError), WAIT_MS, 'the refusal on error$');
      expect(errors.find((e) => e instanceof ConnectionLimitError)).to.include({ limit: 2, scope: 'server' });
      await first.destroy();
      await until(() => server.stats().clients === 1, WAIT_MS, 'the first client to leave');
      const fourth = await rawClient(server);
      expect(await fourth.handshake()).to.be.a('string');
    });

    it('makes a Client start() reject with RemoteError ERR_CONNECTION_LIMIT when the server is full', async () => {
      const { server } = await startServer({ maxConnections: 1 });
      const first = await rawClient(server);
      await first.handshake();
      const client = new Client({ port: server.address().port, reconnect: false });
      const error = await withDeadline(client.start().then(() => null, (err: unknown) => err), WAIT_MS, 'start()');
      expect(error).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_CONNECTION_LIMIT' });
    });

    it('limits connections from one address when maxConnectionsPerAddress is set', async () => {
      const { server } = await startServer({ maxConnectionsPerAddress: 1 });
      const first = await rawClient(server);
      await first.handshake();
      const second = await rawClient(server);
      const refused = await second.waitFor((f) => f.action === 'error', 'the refusal');
      expect(refused.data).to.include({ code: 'ERR_CONNECTION_LIMIT' });
      await first.destroy();
      await until(() => server.stats().clients === 0, WAIT_MS, 'the first client to leave');
      const third = await rawClient(server);
      expect(await third.handshake()).to.be.a('string');
    });

    it('defaults maxConnections to 10,000 and maxConnectionsPerAddress to off, and checks both', () => {
      expect(DEFAULTS.maxConnections).to.equal(10_000);
      expect(DEFAULTS.maxConnectionsPerAddress).to.equal(Number.POSITIVE_INFINITY);
      expect(() => new Server({ maxConnections: 0 })).to.throw(RangeError, 'maxConnections');
      expect(() => new Server({ maxConnectionsPerAddress: -1 })).to.throw(RangeError, 'maxConnectionsPerAddress');
    });
  });
});
