// Two server processes behind one port with node:cluster, acting as one through Redis: a broadcast
// from one worker reaches the clients of both, and a packet for a client on the other worker gets
// there by the client's public id. Run: node --import tsx examples/node-cluster.ts (REDIS_URL, if
// your Redis is not at 127.0.0.1:6379).
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Client, Server, redisAdapter } from '../lib/index.js';

const WORKERS = 2;
const CLIENTS = 6;

type Command = { cmd: 'broadcast' } | { cmd: 'sendTo'; id: string } | { cmd: 'stop' };

/** `promise`, or a failure after 10 s naming what did not happen: no wait in this example is unbounded. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

if (cluster.isPrimary) {
  // Each run gets its own channels, so that runs sharing one Redis never hear each other.
  const env = { CLUSTER_NAME: `example-${randomUUID()}` };
  const workers = Array.from({ length: WORKERS }, () => cluster.fork(env));
  // A worker says 'ready' once it listens and sees every worker in its cluster view.
  const ports = await within(Promise.all(workers.map(async (worker) => ((await once(worker, 'message')) as [{ port: number }])[0].port)), 'ready workers');
  console.log(`workers: ${workers.length}, one port: ${new Set(ports).size === 1}`);

  const clients = Array.from({ length: CLIENTS }, () => new Client({ port: ports[0]! }));
  const news = clients.map((client) => new Promise((resolve) => client.bindAction('news', resolve)));
  await Promise.all(clients.map((client) => client.start()));
  // Each client asks its server for its public id, and which worker it landed on.
  const whoami = await Promise.all(clients.map((client) => client.request('whoami', null) as Promise<{ id: string; pid: number }>));
  console.log(`clients connected: ${clients.length}, on ${new Set(whoami.map((w) => w.pid)).size} workers`);

  const ask = (worker: Worker, command: Command): Promise<unknown> => {
    worker.send(command);
    return within(once(worker, 'message').then(([answer]) => answer), `answer to ${command.cmd}`);
  };
  await ask(workers[0]!, { cmd: 'broadcast' });
  await within(Promise.all(news), 'broadcast at every client');
  console.log(`a broadcast from worker 1 reached ${news.length} of ${clients.length} clients`);

  // A client of worker 2, reached from worker 1 by its id.
  const worker2 = workers[1]!.process.pid;
  const target = whoami.findIndex((w) => w.pid === worker2);
  const direct = new Promise((resolve) => clients[target]!.bindAction('direct', resolve));
  await ask(workers[0]!, { cmd: 'sendTo', id: whoami[target]!.id });
  console.log(`worker 1 to a client of worker 2: ${JSON.stringify(await within(direct, 'directed packet'))}`);

  await Promise.all(clients.map((client) => client.stop()));
  await Promise.all(workers.map((worker) => ask(worker, { cmd: 'stop' }).then(() => within(once(worker, 'exit'), 'worker exit'))));
  console.log('stopped');
} else {
  const server = new Server({
    port: 0, // in a cluster, every worker gets the same port: the primary shares one listener
    adapter: redisAdapter({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
    clusterName: process.env.CLUSTER_NAME!,
    clusterHeartbeatIntervalMs: 100,
  });
  server.bindAction('whoami', (_data: null, _packet, connection) => ({ id: connection.id, pid: process.pid }));
  await server.start();
  for (let waited = 0; server.cluster.nodes().length < WORKERS; waited += 20) {
    if (waited > 10_000) throw new Error('the other worker did not join within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.send!({ port: server.address().port });

  process.on('message', async (command: Command) => {
    if (command.cmd === 'broadcast') process.send!(await server.broadcast('news', { headline: 'one cluster' }));
    if (command.cmd === 'sendTo') process.send!(await server.sendTo(command.id, 'direct', { from: 'worker 1' }).then(() => 'sent'));
    if (command.cmd === 'stop') {
      await server.stop();
      process.send!('stopped', () => process.exit(0));
    }
  });
  // The primary went away: leave too.
  process.on('disconnect', () => process.exit(0));
}
