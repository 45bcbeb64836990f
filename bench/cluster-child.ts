/**
 * Child process for the cluster benchmark. Roles (argv[2]):
 *   node     a pnetwork server (argv[3]: redis | nats | none) that broadcasts and sends on command
 *   clients  pnetwork clients of one node, counting what they receive and answering requests
 *   ionode   a socket.io server with @socket.io/redis-adapter
 *   ioclients socket.io clients of one ionode
 * Commands arrive over IPC as `{ id, cmd, args }`; each gets `{ id, ok, result }` or `{ id, ok: false, error }`.
 * The process exits when its parent goes.
 * @module
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldTurn } from 'node:timers/promises';

type Handler = (args: Record<string, unknown>) => unknown;

const role = process.argv[2];
const engine = process.argv[3] ?? 'none';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const HOST = '127.0.0.1';
/** Broadcasts in flight before the sender waits for the oldest. */
const WINDOW = 256;
const now = (): number => performance.timeOrigin + performance.now();

/** Deliveries counted by a clients child: the first and last arrival times and the count. */
class Counter {
  count = 0;
  first = 0;
  last = 0;
  hit(): void {
    const t = now();
    if (this.count++ === 0) this.first = t;
    this.last = t;
  }
  reset(): void {
    this.count = 0;
    this.first = 0;
    this.last = 0;
  }
}

async function pnetworkNode(): Promise<Record<string, Handler>> {
  const lib = await import('../dist/index.js');
  const adapter =
    engine === 'redis' ? lib.redisAdapter({ url: REDIS_URL }) : engine === 'nats' ? lib.natsAdapter({ servers: NATS_URL }) : undefined;
  const server = new lib.Server({ port: 0, host: HOST, heartbeatIntervalMs: 0, ...(adapter ? { adapter } : {}), clusterName: process.env.CLUSTER_NAME ?? 'bench' });
  server.bindAction('whoami', (_data: unknown, _packet: unknown, connection: { id: string }) => connection.id);
  return {
    start: async () => {
      await server.start();
      return { port: server.address().port, node: server.cluster.node };
    },
    nodes: () => server.cluster.nodes().length,
    broadcast: async ({ count }) => {
      const inFlight: Array<Promise<number>> = [];
      const began = now();
      for (let n = 0; n < (count as number); n++) {
        inFlight.push(server.broadcast('tick', { n }));
        if (inFlight.length >= WINDOW) await inFlight.shift();
      }
      await Promise.all(inFlight);
      return { began, ended: now() };
    },
    /** Round trips of requestClient to one client: local or on another node. */
    rtt: async ({ id, count }) => {
      const samples: number[] = [];
      for (let i = 0; i < (count as number); i++) {
        const t0 = performance.now();
        await server.requestClient(id as string, 'echo', i);
        samples.push(performance.now() - t0);
      }
      return samples;
    },
  };
}

async function pnetworkClients(): Promise<Record<string, Handler>> {
  const lib = await import('../dist/index.js');
  const counter = new Counter();
  const clients: Array<InstanceType<typeof lib.Client>> = [];
  return {
    connect: async ({ port, count }) => {
      const ids: string[] = [];
      for (let i = 0; i < (count as number); i++) {
        const client = new lib.Client({ port: port as number, host: HOST, reconnect: false, heartbeatIntervalMs: 0 });
        client.bindAction('tick', () => counter.hit());
        client.bindAction('echo', (n: number) => n);
        await client.start();
        ids.push((await client.request('whoami', null)) as string);
        clients.push(client);
      }
      return ids;
    },
    reset: () => counter.reset(),
    counted: () => ({ count: counter.count, first: counter.first, last: counter.last }),
  };
}

async function socketIoNode(): Promise<Record<string, Handler>> {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const { Redis } = await import('ioredis');
  const pub = new Redis(REDIS_URL);
  const sub = pub.duplicate();
  const http = createHttpServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, adapter: createAdapter(pub, sub, { key: process.env.CLUSTER_NAME ?? 'bench' }) });
  return {
    start: () => new Promise((resolve) => http.listen({ host: HOST, port: 0 }, () => resolve({ port: (http.address() as AddressInfo).port }))),
    broadcast: async ({ count }) => {
      const began = now();
      for (let n = 0; n < (count as number); n++) {
        io.emit('tick', { n });
        // io.emit is fire-and-forget: yield now and then so the Redis connection can write.
        if (n % WINDOW === WINDOW - 1) await yieldTurn();
      }
      return { began, ended: now() };
    },
  };
}

async function socketIoClients(): Promise<Record<string, Handler>> {
  const { io } = await import('socket.io-client');
  const counter = new Counter();
  return {
    connect: async ({ port, count }) => {
      for (let i = 0; i < (count as number); i++) {
        const socket = io(`http://${HOST}:${port as number}`, { transports: ['websocket'], reconnection: false, forceNew: true });
        socket.on('tick', () => counter.hit());
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
      }
      return [];
    },
    reset: () => counter.reset(),
    counted: () => ({ count: counter.count, first: counter.first, last: counter.last }),
  };
}

const makers: Record<string, () => Promise<Record<string, Handler>>> = { node: pnetworkNode, clients: pnetworkClients, ionode: socketIoNode, ioclients: socketIoClients };
const make = makers[role ?? ''];
if (!make) throw new Error(`unknown cluster bench role ${String(role)}`);
const handlers = await make();
process.on('message', (message: { id: number; cmd: string; args: Record<string, unknown> }) => {
  const handler = handlers[message.cmd];
  Promise.resolve()
    .then(() => (handler ? handler(message.args) : Promise.reject(new Error(`unknown command ${message.cmd}`))))
    .then(
      (result) => process.send?.({ id: message.id, ok: true, result: result ?? null }),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
