import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { firstValueFrom, filter } from 'rxjs';
import {
  Client,
  ConnectionClosedError,
  FrameTooLargeError,
  PacketExpiredError,
  QueueFullError,
  Server,
  type ClientState,
  type PnetworkError,
  type ReconnectAttempt,
} from '../../lib/index.js';
import { FreezeProxy } from '../helpers/freeze-proxy.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { until } from '../helpers/wait.js';
import { childEnv } from '../helpers/child-env.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

/** How long a condition may take to hold. */
const UNTIL_MS = 10_000;

describe('liveness (integration)', () => {
  const servers: Server[] = [];
  const clients: Client[] = [];
  const proxies: FreezeProxy[] = [];

  async function startServer(options: ConstructorParameters<typeof Server>[0] = {}): Promise<Server> {
    const server = new Server({ port: 0, ...options });
    servers.push(server);
    await server.start();
    return server;
  }

  function newClient(options: ConstructorParameters<typeof Client>[0]): Client {
    const client = new Client(options);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  describe('heartbeat', () => {
    // Heartbeats run on a virtual clock shared by both sides: the spec moves time, real sockets move the
    // bytes, so a slow machine cannot make a deadline pass early.
    it('detects a silent peer on both sides and closes with a reason', async () => {
      const clock = new VirtualClock();
      const timing = { heartbeatIntervalMs: 40, heartbeatTimeoutMs: 80, scheduler: clock };
      const server = await startServer(timing);
      const proxy = new FreezeProxy(server.address().port);
      proxies.push(proxy);
      const port = await proxy.listen();
      const client = newClient({ port, ...timing, reconnect: false });
      const serverErrors: PnetworkError[] = [];
      const clientErrors: PnetworkError[] = [];
      server.error$.subscribe((e) => serverErrors.push(e));
      client.error$.subscribe((e) => clientErrors.push(e));
      await client.start();
      await until(() => server.clients.size === 1, UNTIL_MS, 'the server to register the client');
      const serverSaw = firstValueFrom(server.disconnect$);
      const clientSaw = firstValueFrom(client.disconnect$);
      proxy.freeze();
      clock.advance(40); // both sides ping; nothing can come back through the frozen proxy
      expect(client.state).to.equal('connected');
      clock.advance(80); // the deadline, 80 ms after the unanswered ping
      const [serverEvent, clientReason] = await Promise.all([serverSaw, clientSaw]);
      expect(serverEvent.reason).to.match(/nothing from the peer within 80 ms of a ping/);
      expect(clientReason).to.match(/nothing from the peer within 80 ms of a ping/);
      expect(serverErrors.map((e) => e.code)).to.include('ERR_HEARTBEAT_TIMEOUT');
      expect(clientErrors.map((e) => e.code)).to.include('ERR_HEARTBEAT_TIMEOUT');
      expect(client.state).to.equal('closed');
    });

    it('keeps a live connection open across many heartbeat intervals', async () => {
      const clock = new VirtualClock();
      const timing = { heartbeatIntervalMs: 10, heartbeatTimeoutMs: 30, scheduler: clock };
      const server = await startServer(timing);
      const client = newClient({ port: server.address().port, ...timing });
      await client.start();
      await until(() => server.clients.size === 1, UNTIL_MS, 'the server to register the client');
      const onClient = client.connection!;
      const onServer = server.getClient(client.token!)!;
      const [clientBase, serverBase] = [onClient.stats.packetsIn, onServer.stats.packetsIn];
      // Ten intervals, over three times the timeout: each side pings and must see the other's pong.
      for (let round = 1; round <= 10; round++) {
        clock.advance(10);
        await until(
          () => onClient.stats.packetsIn >= clientBase + 2 * round && onServer.stats.packetsIn >= serverBase + 2 * round,
          UNTIL_MS,
          `round ${round}: a ping and a pong arriving on each side`,
        );
      }
      expect(client.state).to.equal('connected');
      expect(onClient.isClosed).to.equal(false);
      expect(server.clients.size).to.equal(1);
    });
  });

  describe('reconnection', () => {
    it('emits connecting, connected, reconnecting, connected and gets a new token', async () => {
      const server = await startServer();
      const { port } = server.address();
      const client = newClient({ port, reconnectDelayMs: 10, reconnectDelayMaxMs: 40 });
      const states: ClientState[] = [];
      client.state$.subscribe((s) => states.push(s));
      await client.start();
      const firstToken = client.token;
      const reason = firstValueFrom(client.disconnect$);
      await server.stop();
      expect(await reason).to.equal('closed by peer: server stopping');
      await startServer({ port });
      await firstValueFrom(client.state$.pipe(filter((s) => s === 'connected')));
      expect(states).to.deep.equal(['closed', 'connecting', 'connected', 'reconnecting', 'connected']);
      expect(client.token).to.be.a('string').and.not.equal(firstToken);
    });

    it('survives a server restart with 50 clients that flush their queues in order', async function () {
      this.timeout(30_000);
      const first = await startServer();
      const { port } = first.address();
      const group = Array.from({ length: 50 }, (_, i) =>
        newClient({ port, reconnectDelayMs: 20, reconnectDelayMaxMs: 100, random: seededRandom(i + 1) }),
      );
      await Promise.all(group.map((client) => client.start()));
      await first.stop();
      await until(() => group.every((client) => client.state === 'reconnecting'), UNTIL_MS, 'every client to notice');
      // Queued while the server is away: five packets per client, not awaited yet.
      const sends = group.flatMap((client, i) => [1, 2, 3, 4, 5].map((seq) => client.sendPacket('seq', { client: i, seq })));
      expect(group.every((client) => client.queuedPackets === 5)).to.equal(true);
      const second = await startServer({ port });
      const received = new Map<number, number[]>();
      second.bindAction('seq', ({ client, seq }: { client: number; seq: number }) => {
        received.set(client, [...(received.get(client) ?? []), seq]);
      });
      await Promise.all(sends);
      await until(() => [...received.values()].reduce((n, list) => n + list.length, 0) === 250, UNTIL_MS, 'all 250 packets');
      expect(received.size).to.equal(50);
      for (const list of received.values()) expect(list).to.deep.equal([1, 2, 3, 4, 5]);
      expect(second.clients.size).to.equal(50);
    });

    it('spreads reconnection attempts over the backoff window (jitter)', async () => {
      const server = await startServer();
      const { port } = server.address();
      const group = Array.from({ length: 50 }, (_, i) =>
        newClient({ port, reconnectDelayMs: 1000, reconnectJitter: 0.5, random: seededRandom(1000 + i) }),
      );
      await Promise.all(group.map((client) => client.start()));
      const firstDelays = group.map((client) => firstValueFrom(client.reconnectAttempt$));
      await server.stop();
      const delays = (await Promise.all(firstDelays)).map((a: ReconnectAttempt) => a.delayMs);
      for (const delay of delays) expect(delay).to.be.within(500, 1000);
      const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
      const sd = Math.sqrt(delays.reduce((a, d) => a + (d - mean) ** 2, 0) / delays.length);
      // Uniform over a 500 ms window has sd ≈ 144 ms; bunched attempts would be near 0.
      expect(sd).to.be.greaterThan(100);
      const buckets = new Map<number, number>();
      for (const delay of delays) buckets.set(Math.floor(delay / 50), (buckets.get(Math.floor(delay / 50)) ?? 0) + 1);
      expect(Math.max(...buckets.values())).to.be.lessThan(15);
      expect(buckets.size).to.be.at.least(8);
    });

    it('rejects a request in flight with ConnectionClosedError and never re-sends it', async () => {
      const server = await startServer();
      const { port } = server.address();
      let runs = 0;
      server.bindAction('slow', () => {
        runs++;
        return new Promise(() => undefined);
      });
      const client = newClient({ port, reconnectDelayMs: 10 });
      await client.start();
      const pending = client.request('slow', null).catch((e: unknown) => e);
      await until(() => runs === 1, UNTIL_MS, 'the handler to run');
      await server.stop();
      const err = await pending;
      expect(err).to.be.instanceOf(ConnectionClosedError);
      const second = await startServer({ port });
      let secondRuns = 0;
      let markers = 0;
      second.bindAction('slow', () => {
        secondRuns++;
      });
      second.bindAction('marker', () => {
        markers++;
      });
      await firstValueFrom(client.state$.pipe(filter((s) => s === 'connected')));
      await client.sendPacket('marker', null);
      // Packets on one connection are handled in order: a re-sent request would have run before the marker.
      await until(() => markers === 1, UNTIL_MS, 'the marker to be handled');
      expect(secondRuns).to.equal(0);
    });

    it('rejects a queued packet whose TTL expires with PacketExpiredError', async () => {
      const server = await startServer();
      const client = newClient({ port: server.address().port, reconnectDelayMs: 5_000, queuedPacketTtlMs: 30 });
      await client.start();
      await server.stop();
      await until(() => client.state === 'reconnecting', UNTIL_MS, 'reconnecting');
      const err = await client.sendPacket('late', 1).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PacketExpiredError);
      expect((err as PacketExpiredError).code).to.equal('ERR_PACKET_EXPIRED');
      expect(client.queuedPackets).to.equal(0);
    });

    it('rejects packets beyond maxQueuedPackets with QueueFullError', async () => {
      const server = await startServer();
      const client = newClient({ port: server.address().port, reconnectDelayMs: 5_000, maxQueuedPackets: 2 });
      await client.start();
      await server.stop();
      await until(() => client.state === 'reconnecting', UNTIL_MS, 'reconnecting');
      const kept = [client.sendPacket('a', 1), client.sendPacket('b', 2)];
      const err = await client.sendPacket('c', 3).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(QueueFullError);
      expect(client.queuedPackets).to.equal(2);
      await client.stop();
      for (const result of await Promise.allSettled(kept)) expect(result.status).to.equal('rejected');
    });

    it('stays closed when a disconnect$ subscriber stops the client', async () => {
      const server = await startServer();
      const clock = new VirtualClock();
      const client = newClient({ port: server.address().port, reconnectDelayMs: 5, reconnectDelayMaxMs: 5, reconnectJitter: 0, scheduler: clock });
      await client.start();
      const states: ClientState[] = [];
      const attempts: ReconnectAttempt[] = [];
      client.state$.subscribe((s) => states.push(s));
      client.reconnectAttempt$.subscribe((a) => attempts.push(a));
      client.disconnect$.subscribe(() => void client.stop());
      await server.stop();
      await firstValueFrom(client.state$.pipe(filter((s) => s === 'closed')));
      // The disconnect scheduled an attempt 5 ms away before stop() ran; stop() must have cancelled it:
      // a full second of virtual time later, no scheduled work has run and none is left.
      expect(attempts.map((a) => a.delayMs)).to.deep.equal([5]);
      const ranBefore = clock.ran;
      clock.advance(1000);
      expect(clock.ran).to.equal(ranBefore);
      expect(clock.pending).to.equal(0);
      expect(client.state).to.equal('closed');
      // The first entry is the replayed current state, 'connected'; none may follow it.
      expect(states.slice(1)).to.deep.equal(['reconnecting', 'closed']);
    });

    it('rejects a queued packet the connection refuses, and still sends the ones behind it', async () => {
      const server = await startServer();
      const { port } = server.address();
      const client = newClient({ port, reconnectDelayMs: 5, maxFrameBytes: 300 });
      await client.start();
      await server.stop();
      await until(() => client.state === 'reconnecting', UNTIL_MS, 'reconnecting');
      const tooBig = client.sendPacket('big', 'x'.repeat(400));
      const small = client.sendPacket('small', 1);
      const second = await startServer({ port });
      const got: number[] = [];
      second.bindAction('small', (n: number) => {
        got.push(n);
      });
      expect(await tooBig.catch((e: unknown) => e)).to.be.instanceOf(FrameTooLargeError);
      await small;
      await until(() => got.length === 1, UNTIL_MS, 'the small packet');
      await client.sendPacket('small', 2);
      await until(() => got.length === 2, UNTIL_MS, 'a packet sent after the flush');
    });

    it('refuses a queued packet with a bad action name at once', async () => {
      const server = await startServer();
      const client = newClient({ port: server.address().port, reconnectDelayMs: 5_000 });
      await client.start();
      await server.stop();
      await until(() => client.state === 'reconnecting', UNTIL_MS, 'reconnecting');
      const err = await client.sendPacket('x'.repeat(300), 1).catch((e: unknown) => e);
      expect((err as PnetworkError).code).to.equal('ERR_PACKET_ACTION_TOO_LONG');
      expect(client.queuedPackets).to.equal(0);
    });

    it('gives up after reconnectAttempts and closes', async () => {
      const server = await startServer();
      const client = newClient({ port: server.address().port, reconnectDelayMs: 5, reconnectDelayMaxMs: 5, reconnectAttempts: 2 });
      await client.start();
      const attempts: number[] = [];
      client.reconnectAttempt$.subscribe((a) => attempts.push(a.attempt));
      await server.stop();
      await firstValueFrom(client.state$.pipe(filter((s) => s === 'closed')));
      expect(attempts).to.deep.equal([1, 2]);
    });
  });

  describe('start/stop cycles', () => {
    it('leave no socket or timer behind: the process exits on its own', async function () {
      this.timeout(30_000);
      const child = spawn(process.execPath, ['--import', 'tsx', 'spec/fixtures/cycles.ts'], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      clearTimeout(killer);
      expect(output).to.contain('cycles done');
      expect(code, output).to.equal(0);
    });
  });
});
