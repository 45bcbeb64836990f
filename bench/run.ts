/**
 * Benchmark orchestrator: pnetwork vs a node:net floor vs ws vs socket.io.
 *
 *   npm run bench                      full run (3 rounds), rewrites docs/benchmarks.md and .svg
 *   npm run bench -- --quick           smoke run (1 round, tiny counts) → bench/results/quick-latest.json
 *   npm run bench -- --rounds 5 --only rtt --systems net,pnetwork
 *   BENCH_CPU_PROF=/tmp/prof npx tsx bench/run.ts --only broadcast --systems pnetwork --rounds 1
 *                                      also writes a CPU profile of every child into that folder
 *
 * Each run starts a server child and a client child (node --import tsx bench/child.ts), over
 * 127.0.0.1 with an OS-chosen port, under a hard deadline. A run that fails verification makes the
 * process exit non-zero; targets missed are reported but do not.
 * @module
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, arch, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { consoleTables, formatValue, targets, writeDocs, type CaseResult, type Results, type SystemResult } from './report.js';
import { scenarios, type CaseDef, type CaseParams } from './scenarios.js';
import { clusterTable, runClusterBench } from './cluster-bench.js';
import { median, round } from './stats.js';
import { BASE_SYSTEMS, SYSTEM_NAMES, SYSTEM_LABELS, isPnetwork, isSystemName, type SystemName } from './systems/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** Descriptors one child needs for the largest idle case (10,000 sockets) and its own files. */
const FD_NEEDED = 11_000;
/** Added to a run's deadline per connection it opens, so 10,000 slow handshakes are not cut short. */
const DEADLINE_PER_CONNECTION_MS = 5;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    systems: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
  allowPositionals: false,
});

if (args.help) {
  console.log(`usage: npm run bench -- [--quick] [--rounds N] [--only scenario[,scenario]] [--systems ${SYSTEM_NAMES.join(',')}]`);
  process.exit(0);
}

const quick = args.quick;
const rounds = args.rounds === undefined ? (quick ? 1 : 3) : Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--rounds must be an integer from 1 to 50, not ${args.rounds}`);
const runDeadlineMs = quick ? 30_000 : 60_000;

const requestedSystems = (args.systems ?? SYSTEM_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const name of requestedSystems) if (!isSystemName(name)) throw new Error(`unknown system "${name}" (known: ${SYSTEM_NAMES.join(', ')})`);
const systems = SYSTEM_NAMES.filter((s) => requestedSystems.includes(s));

// ---------------------------------------------------------------------------------------------
// Environment

function ulimitNofile(hard = false): string {
  const result = spawnSync('sh', ['-c', hard ? 'ulimit -Hn' : 'ulimit -n'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

function packageVersion(name: string): string {
  try {
    const json = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string };
    return json.version;
  } catch {
    return 'not installed';
  }
}

function pnetworkVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: ROOT, encoding: 'utf8' });
  const sha = commit.status === 0 ? commit.stdout.trim() : 'unknown commit';
  return `${json.version} (${sha}${dirty.status === 0 && dirty.stdout.trim() !== '' ? ', lib/ modified' : ''})`;
}

const notes: string[] = [];
const nofile = ulimitNofile();
const nofileNumber = nofile === 'unlimited' ? Number.POSITIVE_INFINITY : Number(nofile);
let idleCap = Number.POSITIVE_INFINITY;
if (!(nofileNumber >= FD_NEEDED)) {
  idleCap = Number.isFinite(nofileNumber) && nofileNumber > 1024 ? nofileNumber - 512 : 500;
  // A process cannot raise its own limit from JavaScript: say how instead.
  notes.push(`ulimit -n is ${nofile} (below ${FD_NEEDED}): connection counts capped at ${idleCap}; run \`ulimit -n ${FD_NEEDED}\` first (hard limit ${ulimitNofile(true)}) to measure 10,000.`);
}

// pnetwork is being written alongside: skip it (loudly) until its Server and Client exist.
let pnetworkReason: string | null = null;
if (systems.some(isPnetwork)) {
  try {
    const adapter = await import('./systems/pnetwork.js');
    await adapter.loadPnetwork();
  } catch (error) {
    pnetworkReason = error instanceof Error ? error.message : String(error);
    console.log(`pnetwork: not available (${pnetworkReason})`);
    notes.push(`pnetwork: not available (${pnetworkReason}).`);
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

const live = new Set<ChildProcess>();
/** Where each child's CPU profile goes (BENCH_CPU_PROF); none when unset. */
const PROFILE_DIR = process.env.BENCH_CPU_PROF ?? '';
const killAll = (): void => {
  // Profiled children are left to exit on their own (their IPC channel closes), writing their profiles.
  if (PROFILE_DIR) return;
  for (const child of live) child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** One child process (`server` or `client`) driven by request/response IPC. */
class Child {
  private readonly process: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  constructor(readonly role: 'server' | 'client') {
    const execArgv = ['--import', 'tsx', ...(role === 'server' ? ['--expose-gc'] : []), ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])];
    this.process = fork(CHILD, [role], { cwd: ROOT, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    live.add(this.process);
    let markReady: () => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => undefined);
    this.process.on('message', (message: Reply) => {
      if (message.id === 0) return markReady();
      const entry = this.pending.get(message.id);
      if (!entry) return;
      this.pending.delete(message.id);
      if (message.ok) entry.resolve(message.result);
      else entry.reject(new Error(`${role}: ${message.error ?? 'unknown error'}`));
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      failReady(error);
      for (const entry of this.pending.values()) entry.reject(error);
      this.pending.clear();
    };
    this.process.on('error', fail);
    this.process.on('exit', (code, signal) => {
      live.delete(this.process);
      fail(new Error(`${role} child exited (${signal ?? `code ${String(code)}`})`));
    });
  }

  /** Sends a command and resolves with its result. */
  call<T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send({ id, cmd, args });
    });
  }

  kill(): void {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    if (!PROFILE_DIR || !this.process.connected) return void this.process.kill('SIGKILL');
    // A profiled child writes its profile as it exits: it exits on its own when the channel closes.
    const child = this.process;
    child.disconnect();
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }
}

// ---------------------------------------------------------------------------------------------
// One run

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`verification failed: ${message}`);
}

interface Pair {
  server: Child;
  client: Child;
}

/**
 * Quick runs reuse one server child and one client child per system (spawning tsx children dominates
 * a quick run); full runs start fresh children for every run, so idle-connection memory readings start clean.
 */
const reuseChildren = quick;
const pairs = new Map<SystemName, Pair>();

function takePair(system: SystemName, fresh: boolean): Pair {
  const cached = pairs.get(system);
  pairs.delete(system);
  if (cached && !fresh) return cached;
  if (cached) {
    cached.client.kill();
    cached.server.kill();
  }
  return { server: new Child('server'), client: new Child('client') };
}

type Outcome = { metrics: Record<string, number>; raw: Record<string, unknown> };

/**
 * Runs `work` against a server child and a client child under the hard deadline, then kills the
 * children (or, when reusing, resets them for the next run).
 */
async function withChildren<T>(system: SystemName, reuse: boolean, work: (pair: Pair) => Promise<T>, deadlineMs = runDeadlineMs): Promise<T> {
  const keep = reuseChildren && reuse;
  const pair = takePair(system, !keep);
  const { server, client } = pair;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline of ${deadlineMs / 1000} s passed; children killed`)), deadlineMs);
  });
  let reusable = false;
  try {
    const outcome = await Promise.race([
      Promise.all([server.ready, client.ready]).then(() => work(pair)),
      deadline,
    ]);
    if (keep) {
      await Promise.race([Promise.all([client.call('reset'), server.call('reset')]), deadline]);
      reusable = true;
    }
    return outcome;
  } finally {
    clearTimeout(timer);
    if (reusable) pairs.set(system, pair);
    else {
      client.kill();
      server.kill();
    }
  }
}

async function serverCheck(server: Child): Promise<void> {
  const { unexpected } = await server.call<{ unexpected: { count: number; first: string | null } }>('check');
  check(unexpected.count === 0, `server saw ${unexpected.count} unexpected packets (first: ${unexpected.first ?? ''})`);
}

async function startBoth({ server, client }: Pair, system: SystemName, params: CaseParams): Promise<void> {
  const { port } = await server.call<{ port: number }>('start', { system, params });
  await client.call('init', { system, port, params });
}

/** One-way, round-trip and pipelined cases: the client runs the workload and returns its metrics. */
function runWorkload(def: CaseDef, system: SystemName): Promise<Outcome> {
  return withChildren(system, true, async (pair) => {
    await startBoth(pair, system, def.params);
    const raw = await pair.client.call<Record<string, unknown>>('run');
    await serverCheck(pair.server);
    const metrics: Record<string, number> = {};
    for (const metric of def.metrics) {
      const value = raw[metric.key];
      check(typeof value === 'number' && Number.isFinite(value) && value > 0, `metric ${metric.key} is ${String(value)}`);
      metrics[metric.key] = value;
    }
    return { metrics, raw };
  });
}

/**
 * Idle connections: one run per system covers every idle case, connecting up to each case's count in
 * turn and reading server memory (after gc) at each stage, against the reading before any client.
 * Full runs give it fresh children (clean memory); quick runs, whose numbers mean nothing, reuse them.
 */
function runIdle(defs: CaseDef[], system: SystemName): Promise<Outcome[]> {
  return withChildren(system, true, async (pair) => {
    const { server, client } = pair;
    const stages = [...defs].sort((x, y) => x.params.clients - y.params.clients);
    const last = stages[stages.length - 1]!;
    await startBoth(pair, system, last.params);
    const before = await server.call<Memory>('memory');
    const outcomes = new Map<string, Outcome>();
    let connected = 0;
    let connectMs = 0;
    for (const stage of stages) {
      const clients = stage.params.clients;
      const step = await client.call<{ connectMs: number; connected: number }>('connectAll', { clients: clients - connected });
      connected = step.connected;
      connectMs += step.connectMs;
      check(connected === clients, `client holds ${connected} connections, expected ${clients}`);
      await server.call('waitClients', { expected: clients });
      await sleep(300);
      const after = await server.call<Memory>('memory');
      await server.call('waitClients', { expected: clients });
      const rssPerConn = (after.rss - before.rss) / clients;
      const heapExtPerConn = (after.heapUsed + after.external - (before.heapUsed + before.external)) / clients;
      outcomes.set(stage.id, {
        metrics: { rssPerConn: round(rssPerConn, 6), heapExtPerConn: round(heapExtPerConn, 6), connectMs: round(connectMs, 6) },
        raw: { before, after, clients, connectMs: round(connectMs, 6) },
      });
    }
    await serverCheck(server);
    return defs.map((def) => outcomes.get(def.id)!);
  }, runDeadlineMs + Math.max(...defs.map((def) => def.params.clients)) * DEADLINE_PER_CONNECTION_MS);
}

/** Broadcast: connect every client, then time the broadcasts until every client has every packet. */
function runBroadcast(def: CaseDef, system: SystemName): Promise<Outcome> {
  return withChildren(system, true, async (pair) => {
    const { server, client } = pair;
    const p = def.params;
    await startBoth(pair, system, p);
    const connected = await client.call<{ connectMs: number; connected: number }>('connectAll', { clients: p.clients });
    check(connected.connected === p.clients, `client opened ${connected.connected} connections, expected ${p.clients}`);
    await server.call('waitClients', { expected: p.clients });
    if (p.warmup > 0) {
      // Unmeasured broadcasts first, as every other throughput case warms up: the first packets after
      // connecting run each side's receive path cold (not yet compiled), which says more about the JIT
      // than about broadcasting.
      const [warm, warmGot] = await Promise.all([
        server.call<{ recipients: number }>('broadcast', { packets: p.warmup, size: p.size }),
        client.call<{ deliveries: number }>('awaitBroadcast', { packets: p.warmup }),
      ]);
      check(warm.recipients === p.clients * p.warmup && warmGot.deliveries === p.clients * p.warmup, `warm-up broadcast: ${warm.recipients} sent, ${warmGot.deliveries} received, expected ${p.clients * p.warmup}`);
      await client.call('verifyBroadcast', { packets: p.warmup });
      await client.call('resetBroadcast');
    }
    const start = performance.now();
    const [sent, got] = await Promise.all([
      server.call<{ recipients: number }>('broadcast', { packets: p.packets, size: p.size }),
      client.call<{ deliveries: number }>('awaitBroadcast'),
    ]);
    const seconds = (performance.now() - start) / 1000;
    const expected = p.clients * p.packets;
    await client.call('verifyBroadcast');
    check(sent.recipients === expected, `server broadcast reached ${sent.recipients} recipients, expected ${expected}`);
    check(got.deliveries === expected, `clients received ${got.deliveries} packets, expected ${expected}`);
    await serverCheck(server);
    return {
      metrics: { deliveriesPerSec: round(expected / seconds, 6), perClientPerSec: round(p.packets / seconds, 6) },
      raw: { deliveries: expected, elapsedMs: round(seconds * 1000, 6), connectMs: round(connected.connectMs, 6) },
    };
  }, runDeadlineMs + def.params.clients * DEADLINE_PER_CONNECTION_MS);
}

/** A unit of work repeated per round and system: usually one case; all idle cases share one. */
interface Job {
  cases: CaseResult[];
  run(system: SystemName): Promise<Outcome[]>;
}

function jobsFor(cases: CaseResult[]): Job[] {
  const idle = cases.filter((c) => c.params.kind === 'idle');
  const jobs: Job[] = [];
  if (idle.length > 0) jobs.push({ cases: idle, run: (system) => runIdle(idle, system) });
  for (const c of cases) {
    if (c.params.kind === 'idle') continue;
    jobs.push({
      cases: [c],
      run: async (system) => [await (c.params.kind === 'broadcast' ? runBroadcast(c, system) : runWorkload(c, system))],
    });
  }
  return jobs;
}

// ---------------------------------------------------------------------------------------------
// Main

const startedAt = new Date();
const wallStart = performance.now();
const defs = scenarios(quick, idleCap);
const only = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
if (only) {
  const known = [...defs.map((s) => s.id), 'cluster'];
  for (const id of only) if (!known.includes(id)) throw new Error(`unknown scenario "${id}" (known: ${known.join(', ')})`);
}
const selected = defs.filter((s) => !only || only.includes(s.id));
const failures: string[] = [];

const cpu = cpus();
const results: Results = {
  schema: 1,
  mode: quick ? 'quick' : 'full',
  startedAt: startedAt.toISOString(),
  finishedAt: '',
  command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  options: { quick, rounds, only: only ?? null, systems, runDeadlineMs },
  machine: {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: round(totalmem() / 1024 ** 3, 3),
    platform: platform(),
    release: release(),
    arch: arch(),
    node: process.version,
    loadAverage: { start: round(loadavg()[0] ?? 0, 3), end: 0 },
  },
  versions: {
    pnetwork: pnetworkReason === null ? pnetworkVersion() : `not available (${pnetworkReason})`,
    ws: packageVersion('ws'),
    'socket.io': packageVersion('socket.io'),
    'socket.io-client': packageVersion('socket.io-client'),
    tsx: packageVersion('tsx'),
  },
  ulimitNofile: nofile,
  notes,
  systems,
  scenarios: [],
  failures,
};

console.log(`pnetwork benchmarks: ${quick ? 'quick' : 'full'} run, ${rounds} round(s), systems ${systems.join(', ')}`);
console.log(`${results.machine.cpu} × ${results.machine.cores}, Node ${process.version}, ulimit -n ${nofile}, load average ${loadavg()[0]?.toFixed(2) ?? '?'}`);
for (const note of notes) console.log(`note: ${note}`);

for (const scenario of selected) {
  const cases: CaseResult[] = scenario.cases.map((def) => ({ ...def, systems: {} }));
  results.scenarios.push({ id: scenario.id, title: scenario.title, measures: scenario.measures, notYet: scenario.notYet, cases });
  console.log(`\n== ${scenario.title}`);
  if (scenario.notYet) {
    console.log(`  ${scenario.notYet}`);
    continue;
  }
  for (const job of jobsFor(cases)) {
    const first = job.cases[0]!;
    const title = job.cases.map((c) => c.title).join(' + ');
    const active: SystemName[] = [];
    for (const system of systems) {
      let status: SystemResult['status'] = 'ok';
      let reason: string | undefined;
      const applies = first.only ?? BASE_SYSTEMS;
      if (!applies.includes(system)) {
        status = 'n/a';
        reason = `applies to ${applies.join(', ')} only`;
      } else if (isPnetwork(system) && pnetworkReason !== null) {
        status = 'skipped';
        reason = `not available (${pnetworkReason})`;
      } else active.push(system);
      for (const result of job.cases) result.systems[system] = { status, ...(reason === undefined ? {} : { reason }), runs: [], median: {} };
    }
    if (first.only && active.length === 0) {
      console.log(`  ${title}: N/A (applies to ${first.only.join(', ')} only)`);
      continue;
    }
    const failed = new Set<SystemName>();
    for (let roundIndex = 1; roundIndex <= rounds; roundIndex++) {
      for (const system of active) {
        if (failed.has(system)) continue;
        const began = performance.now();
        try {
          const outcomes = await job.run(system);
          const wallMs = round(performance.now() - began, 5);
          job.cases.forEach((result, i) => {
            const { metrics, raw } = outcomes[i]!;
            result.systems[system]!.runs.push({ round: roundIndex, metrics, raw, wallMs });
            const shown = result.metrics.map((m) => `${m.label} ${formatValue(m, metrics[m.key]!)}`).join(', ');
            console.log(`  ${result.title} | round ${roundIndex}/${rounds} | ${SYSTEM_LABELS[system]}: ${shown}`);
          });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failed.add(system);
          for (const result of job.cases) {
            const entry = result.systems[system]!;
            entry.status = 'failed';
            entry.reason = message.split('\n')[0];
            entry.runs = [];
          }
          failures.push(`${job.cases.map((c) => c.id).join('+')} / ${system} / round ${roundIndex}: ${message}`);
          console.error(`  FAILED ${title} | round ${roundIndex}/${rounds} | ${SYSTEM_LABELS[system]}:\n${message}`);
        }
      }
    }
    for (const result of job.cases) {
      for (const system of active) {
        const entry = result.systems[system]!;
        if (entry.status !== 'ok') continue;
        for (const metric of result.metrics) entry.median[metric.key] = round(median(entry.runs.map((r) => r.metrics[metric.key]!)), 6);
      }
    }
  }
}

killAll();

// Scaling out: its own topology (two server nodes and a clients child per case), so it runs apart.
if (!only || only.includes('cluster')) {
  console.log('\n== Scaling out: cross-node broadcast and directed requests (cluster)');
  const cluster = await runClusterBench(quick);
  results.cluster = cluster;
  for (const line of clusterTable(cluster)) console.log(`  ${line}`);
  failures.push(...cluster.failures);
}

results.finishedAt = new Date().toISOString();
if (results.machine.loadAverage) results.machine.loadAverage.end = round(loadavg()[0] ?? 0, 3);

console.log('\n== Medians (ratios: to the same-envelope node:net floor, then to the cheapest one)');
console.log(consoleTables(results));
console.log('\n== pnetwork targets');
if (pnetworkReason !== null || !systems.includes('pnetwork')) console.log(`  skipped: pnetwork ${pnetworkReason === null ? 'not selected' : `not available (${pnetworkReason})`}`);
// A quick run's counts are too small for its ratios to mean anything: it only proves every run verifies.
else if (quick) console.log('  not evaluated: --quick is a smoke run (tiny counts, one round); run npm run bench for the targets');
else for (const line of targets(results)) console.log(`  ${line.text}`);

mkdirSync(RESULTS_DIR, { recursive: true });
const resultsFile = quick
  ? `${RESULTS_DIR}quick-latest.json`
  : `${RESULTS_DIR}${results.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
writeFileSync(resultsFile, `${JSON.stringify(results, null, 1)}\n`);
console.log(`\nresults: ${resultsFile}`);

if (!quick) {
  if (failures.length > 0) console.log('docs/benchmarks.md not rewritten: some runs failed.');
  else if (only || args.systems !== undefined) console.log('docs/benchmarks.md not rewritten: --only/--systems make a partial run.');
  else for (const written of writeDocs(results, resultsFile, ROOT)) console.log(`wrote ${written}`);
}

console.log(`total time ${((performance.now() - wallStart) / 1000).toFixed(1)} s`);
if (failures.length > 0) {
  console.error(`\n${failures.length} run(s) failed verification or errored:`);
  for (const failure of failures) console.error(`  - ${failure.split('\n')[0]}`);
  process.exitCode = 1;
}
