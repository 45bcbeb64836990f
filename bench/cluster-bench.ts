/**
 * The cluster benchmark, part of every `npm run bench`: cross-node broadcast throughput and the
 * added latency of a directed cross-node request, for each adapter, against the same on one node; and
 * socket.io with @socket.io/redis-adapter doing the same broadcast.
 *
 * Topology per case: node A (the sender) and node B, each a server child; the receiving clients sit in
 * a clients child connected to B (to A, for the one-node baseline). Throughput counts deliveries at
 * the clients, from A's first broadcast to the last arrival. Latency is `requestClient` round trips
 * from A to one client: on A itself, then on B (the difference is what crossing nodes adds).
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { percentile, round } from './stats.js';

const CHILD = fileURLToPath(new URL('./cluster-child.ts', import.meta.url));

/** One measured case. */
export interface ClusterCase {
  /** `pnetwork` or `socket.io`. */
  system: string;
  /** `none` (one node), `redis`, `nats`. */
  adapter: string;
  broadcasts: number;
  clients: number;
  /** Packets delivered to clients per second. */
  deliveriesPerSecond: number;
  /** requestClient round trips, ms (pnetwork only): to a client of the sending node, and of the other node. */
  localRtt?: { p50: number; p99: number };
  crossRtt?: { p50: number; p99: number };
}

/** What the benchmark found, or why a case did not run. */
export interface ClusterBenchResults {
  cases: ClusterCase[];
  skipped: string[];
  failures: string[];
}

class BenchChild {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  readonly ready: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bench child exited with ${code}`)));
      child.on('message', (message: { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string }) => {
        if (message.ready) return resolve();
        const waiter = this.waiting.get(message.id!);
        this.waiting.delete(message.id!);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(new Error(message.error));
      });
    });
    child.on('exit', () => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error('bench child exited'));
    });
  }

  static async start(role: string, engine: string, clusterName: string): Promise<BenchChild> {
    const child = new BenchChild(
      fork(CHILD, [role, engine], { execArgv: ['--import', 'tsx'], env: { ...process.env, CLUSTER_NAME: clusterName }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    await child.ready;
    return child;
  }

  run<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, cmd, args });
    });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

function reachable(url: string): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves once `check` holds; rejects with `what` after `ms`. */
async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 4), p99: round(percentile(sorted, 99), 4) };
}

interface Sizes {
  broadcasts: number;
  clients: number;
  rtts: number;
  deadlineMs: number;
}

/** Broadcasts from `sender` and counts at `receivers` until every delivery arrived. */
async function measureBroadcast(sender: BenchChild, receivers: BenchChild, sizes: Sizes): Promise<number> {
  await receivers.run('reset');
  const expected = sizes.broadcasts * sizes.clients;
  const { began } = await sender.run<{ began: number }>('broadcast', { count: sizes.broadcasts });
  let counted = { count: 0, first: 0, last: 0 };
  await waitFor(
    async () => {
      counted = await receivers.run('counted');
      return counted.count >= expected;
    },
    sizes.deadlineMs,
    `${expected} deliveries (got ${counted.count})`,
  );
  return round(counted.count / ((counted.last - began) / 1000), 4);
}

async function pnetworkCase(engine: string, sizes: Sizes): Promise<ClusterCase> {
  const name = `bench-${randomUUID()}`;
  const children: BenchChild[] = [];
  try {
    const a = await BenchChild.start('node', engine, name);
    children.push(a);
    const { port: portA } = await a.run<{ port: number }>('start');
    const atA = await BenchChild.start('clients', engine, name);
    children.push(atA);
    const [localId] = await atA.run<string[]>('connect', { port: portA, count: engine === 'none' ? sizes.clients : 1 });
    let receivers = atA;
    let crossRtt: ClusterCase['crossRtt'];
    let remoteId: string | undefined;
    if (engine !== 'none') {
      const b = await BenchChild.start('node', engine, name);
      children.push(b);
      const { port: portB } = await b.run<{ port: number }>('start');
      await waitFor(async () => (await a.run<number>('nodes')) === 2 && (await b.run<number>('nodes')) === 2, sizes.deadlineMs, 'both nodes in view');
      receivers = await BenchChild.start('clients', engine, name);
      children.push(receivers);
      [remoteId] = await receivers.run<string[]>('connect', { port: portB, count: sizes.clients });
    }
    // Warm up both paths, then measure.
    await a.run('rtt', { id: localId, count: Math.min(50, sizes.rtts) });
    const localRtt = summary(await a.run<number[]>('rtt', { id: localId, count: sizes.rtts }));
    if (remoteId !== undefined) {
      await a.run('rtt', { id: remoteId, count: Math.min(50, sizes.rtts) });
      crossRtt = summary(await a.run<number[]>('rtt', { id: remoteId, count: sizes.rtts }));
    }
    const deliveriesPerSecond = await measureBroadcast(a, receivers, sizes);
    return { system: 'pnetwork', adapter: engine, broadcasts: sizes.broadcasts, clients: sizes.clients, deliveriesPerSecond, localRtt, ...(crossRtt ? { crossRtt } : {}) };
  } finally {
    for (const child of children) child.kill();
  }
}

async function socketIoCase(sizes: Sizes): Promise<ClusterCase> {
  const name = `bench-${randomUUID()}`;
  const children: BenchChild[] = [];
  try {
    const a = await BenchChild.start('ionode', 'redis', name);
    const b = await BenchChild.start('ionode', 'redis', name);
    children.push(a, b);
    await a.run('start');
    const { port: portB } = await b.run<{ port: number }>('start');
    const receivers = await BenchChild.start('ioclients', 'redis', name);
    children.push(receivers);
    await receivers.run('connect', { port: portB, count: sizes.clients });
    const deliveriesPerSecond = await measureBroadcast(a, receivers, sizes);
    return { system: 'socket.io', adapter: 'redis', broadcasts: sizes.broadcasts, clients: sizes.clients, deliveriesPerSecond };
  } finally {
    for (const child of children) child.kill();
  }
}

/**
 * Runs every cluster case that its engine allows.
 * @param quick tiny counts (a smoke run)
 */
export async function runClusterBench(quick: boolean): Promise<ClusterBenchResults> {
  const sizes: Sizes = quick ? { broadcasts: 200, clients: 2, rtts: 50, deadlineMs: 30_000 } : { broadcasts: 5_000, clients: 10, rtts: 1_000, deadlineMs: 60_000 };
  const results: ClusterBenchResults = { cases: [], skipped: [], failures: [] };
  const engines = { redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' };
  const attempt = async (label: string, run: () => Promise<ClusterCase>): Promise<void> => {
    try {
      results.cases.push(await run());
    } catch (error) {
      results.failures.push(`cluster ${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await attempt('pnetwork one node', () => pnetworkCase('none', sizes));
  for (const engine of ['redis', 'nats'] as const) {
    if (!(await reachable(engines[engine]))) {
      results.skipped.push(`pnetwork over ${engine}: nothing answers at ${engines[engine]}`);
      continue;
    }
    await attempt(`pnetwork over ${engine}`, () => pnetworkCase(engine, sizes));
  }
  if (await reachable(engines.redis)) await attempt('socket.io over redis', () => socketIoCase(sizes));
  else results.skipped.push(`socket.io over redis: nothing answers at ${engines.redis}`);
  return results;
}

/** The results as console lines. */
export function clusterTable(results: ClusterBenchResults): string[] {
  const lines = ['system      adapter   deliveries/s   request RTT p50/p99 ms: same node | other node | added p50'];
  for (const c of results.cases) {
    const rtt = c.localRtt
      ? `${c.localRtt.p50} / ${c.localRtt.p99}${c.crossRtt ? ` | ${c.crossRtt.p50} / ${c.crossRtt.p99} | +${round(c.crossRtt.p50 - c.localRtt.p50, 3)}` : ''}`
      : '-';
    lines.push(`${c.system.padEnd(11)} ${c.adapter.padEnd(9)} ${String(Math.round(c.deliveriesPerSecond)).padStart(12)}   ${rtt}`);
  }
  for (const skipped of results.skipped) lines.push(`skipped: ${skipped}`);
  for (const failure of results.failures) lines.push(`FAILED: ${failure}`);
  return lines;
}
