// Faults: peers that reset mid-frame, die (SIGKILL), half-close, a stop() in the middle of heavy
// traffic, and a server restart under 500 clients. Each fault is contained: the connection it hits ends
// with a reason, nothing else is disturbed, every promise settles and processes exit on their own.
import { spawn } from 'node:child_process';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { expect } from 'chai';
import { Client, Server, type Connection, type DisconnectEvent } from '../../lib/index.js';
import { Bystander, ECHO_ACTION } from '../helpers/bystander.js';
import { childEnv } from '../helpers/child-env.js';
import { RawClient } from '../helpers/raw-client.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { nextValue, until, withDeadline } from '../helpers/wait.js';

const WAIT_MS = 20_000;

/** Runs a fixture under tsx in a child process; resolves with its exit code and output. */
async function runFixture(fixture: string, args: string[] = [], ms = 60_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  return { code, output };
}

function frame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

describe('faults (integration)', function () {
  this.timeout(120_000);

  let server: Server;
  let bystander: Bystander;
  let departures: Array<DisconnectEvent<Connection>>;
  let cleanups: Array<() => Promise<unknown>>;

  beforeEach(async () => {
    cleanups = [];
    departures = [];
    server = new Server({ port: 0 });
    server.bindAction(ECHO_ACTION, (data: unknown) => data);
    server.disconnect$.subscribe((event) => departures.push(event));
    await server.start();
    bystander = await Bystander.connect(server.address().port);
    bystander.start();
  });

  afterEach(async () => {
    await bystander.stop();
    await bystander.client.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
    await server.stop();
  });

  /** The bystander kept round-tripping through the fault and was not otherwise touched. */
  async function expectBystanderUnharmed(what: string): Promise<void> {
    await bystander.roundTrips(3, `after ${what}`);
    expect(bystander.harm(), what).to.equal(null);
  }

  it('a peer reset in the middle of a frame ends that connection with a reason, and only it', async () => {
    const raw = await RawClient.connect(server.address().port, WAIT_MS);
    cleanups.push(() => raw.destroy());
    const token = await raw.handshake(undefined, WAIT_MS);
    const half = frame(JSON.stringify({ action: ECHO_ACTION, data: 'x'.repeat(1000), 'packet-created': 1, token, id: 1 })).subarray(0, 500);
    raw.sendRaw(half);
    await until(() => server.getClient(token)!.stats.bytesIn > 500, WAIT_MS, 'the half frame to arrive');
    const left = nextValue(server.disconnect$, WAIT_MS, 'the reset connection to be dropped');
    await raw.reset();
    const event = await left;
    expect(event.connection.token).to.equal(token);
    expect(event.reason).to.be.a('string').and.not.equal('');
    expect(server.getClient(token)).to.equal(undefined);
    await expectBystanderUnharmed('a reset mid-frame');
  });

  it('a server reset in the middle of a frame sends the client into reconnection with a reason', async () => {
    // A stand-in server that shakes hands properly, then sends half a frame and resets.
    const sockets = new Set<Socket>();
    const fake: NetServer = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => {
        const data = { token: 't', protocol: 1, heartbeatIntervalMs: 0, heartbeatTimeoutMs: 20_000, maxFrameBytes: 1 << 20 };
        socket.write(frame(JSON.stringify({ action: 'handshake', data, 'packet-created': 1, token: 't' })));
        socket.write(frame(JSON.stringify({ action: 'news', data: 'y'.repeat(500), 'packet-created': 1, token: 't' })).subarray(0, 100), () => socket.resetAndDestroy());
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    });
    const port = (fake.address() as { port: number }).port;
    const client = new Client({ port, reconnectDelayMs: 60_000, reconnectDelayMaxMs: 60_000 });
    cleanups.push(() => client.stop());
    const lost = nextValue(client.disconnect$, WAIT_MS, 'the client to notice the reset');
    await client.start();
    const reason = await lost;
    expect(reason).to.be.a('string').and.not.equal('');
    expect(client.state).to.equal('reconnecting');
  });

  it('a client process killed with SIGKILL is dropped with a reason; the others carry on', async () => {
    let ticks = 0;
    server.bindAction('tick', () => {
      ticks++;
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'spec/fixtures/busy-client.ts', String(server.address().port)], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    await until(() => ticks >= 200, WAIT_MS, 'the child client to be busy');
    expect(server.clients.size).to.equal(2);
    const left = nextValue(server.disconnect$, WAIT_MS, 'the killed client to be dropped');
    child.kill('SIGKILL');
    expect(await withDeadline(exited, WAIT_MS, 'the child to die')).to.equal('SIGKILL');
    const event = await left;
    expect(event.connection.token).to.not.equal(bystander.client.token);
    expect(event.reason).to.be.a('string').and.not.equal('');
    expect(server.clients.size).to.equal(1);
    await expectBystanderUnharmed('a SIGKILLed client');
  });

  it('a half-closed socket still gets the answers to what it sent, then the server closes its side', async () => {
    const raw = await RawClient.connect(server.address().port, WAIT_MS);
    cleanups.push(() => raw.destroy());
    const token = await raw.handshake(undefined, WAIT_MS);
    for (let id = 1; id <= 5; id++) raw.send(ECHO_ACTION, id, { id });
    raw.socket.end(); // FIN: nothing more from this side, but it still reads
    await raw.waitClosed(WAIT_MS);
    const replies = raw.frames.filter((f) => f.action === 'reply').map((f) => f.id);
    expect(replies, 'every request sent before the FIN is answered').to.deep.equal([1, 2, 3, 4, 5]);
    await until(() => departures.some((event) => event.connection.token === token), WAIT_MS, 'the server to drop the half-closed connection');
    await expectBystanderUnharmed('a half-closed socket');
  });

  it('stop() under heavy traffic settles every promise, and the process then exits on its own', async () => {
    const { code, output } = await runFixture('spec/fixtures/stop-under-traffic.ts');
    expect(code, output).to.equal(0);
    const summary = JSON.parse(output.trim().split('\n').at(-1)!) as { settled: number; expected: number; untyped: number; handled: number; faults: string[]; fulfilled: number; rejected: number };
    expect(summary.settled, output).to.equal(summary.expected);
    expect(summary.untyped, 'every failure is a PnetworkError').to.equal(0);
    expect(summary.faults).to.deep.equal([]);
    // The stop really came mid-flood: some work went through, some was refused.
    expect(summary.fulfilled).to.be.above(0);
    expect(summary.rejected).to.be.above(0);
  });

  it('a server restart under 500 clients: they come back spread over the backoff window, each at its own delay', async () => {
    const count = 500;
    const clock = new VirtualClock();
    const first = new Server({ port: 0 });
    await first.start();
    const { port } = first.address();
    // Reconnection runs on the virtual clock: each client's real attempt happens when the clock reaches its delay.
    const group = Array.from({ length: count }, (_, i) => new Client({ port, reconnectDelayMs: 1000, reconnectJitter: 0.5, heartbeatIntervalMs: 0, random: seededRandom(7000 + i), scheduler: clock }));
    cleanups.push(async () => {
      await Promise.all(group.map((client) => client.stop()));
    });
    for (let start = 0; start < count; start += 100) await Promise.all(group.slice(start, start + 100).map((client) => client.start()));
    const delays = group.map(() => -1);
    group.forEach((client, i) => client.reconnectAttempt$.subscribe((attempt) => (delays[i] = attempt.delayMs)));
    await first.stop();
    await until(() => group.every((client) => client.state === 'reconnecting'), WAIT_MS, 'every client to notice');
    const second = new Server({ port });
    await second.start();
    cleanups.push(() => second.stop());
    for (const delay of delays) expect(delay).to.be.within(500, 1000);

    // Step through the window 50 ms at a time; after each step exactly the clients whose delay has come are back.
    const arrivals: number[] = [];
    for (let t = 50; t <= 1000; t += 50) {
      clock.advance(50);
      const due = delays.filter((delay) => delay <= t).length;
      await until(() => second.clients.size >= due && group.filter((client) => client.state === 'connected').length >= due, WAIT_MS, `the ${due} clients due by ${t} ms`);
      const early = group.filter((client, i) => client.state !== 'reconnecting' && delays[i]! > t);
      expect(early.length, `clients back before their delay at ${t} ms`).to.equal(0);
      arrivals.push(due - arrivals.reduce((a, b) => a + b, 0));
    }
    expect(second.clients.size).to.equal(count);
    // Nobody comes back in the first half of the window, and no 50 ms slice of the other half gets a storm:
    // uniform would put 50 in each of its ten slices.
    expect(arrivals.slice(0, 9).reduce((a, b) => a + b, 0), `arrivals per 50 ms: ${arrivals.join(' ')}`).to.equal(0);
    expect(Math.max(...arrivals), `arrivals per 50 ms: ${arrivals.join(' ')}`).to.be.at.most(80);
    expect(arrivals.slice(10).filter((n) => n > 0).length, `arrivals per 50 ms: ${arrivals.join(' ')}`).to.equal(10);
  });
});
