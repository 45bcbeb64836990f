/**
 * Scenario and case definitions, shared by the orchestrator (what to run) and the child processes
 * (server behaviour and client workloads). Every workload verifies its own result and throws on any
 * mismatch.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import type { SystemName } from './systems/index.js';
import { makePacket, type BenchConnection, type BenchPacket, type BenchSystem, type ServerHooks } from './systems/types.js';
import { percentile, round } from './stats.js';

export type Kind = 'oneway' | 'rtt' | 'pipelined' | 'idle' | 'broadcast' | 'connect' | 'sealed' | 'streams';

/** Everything a case needs; unused fields are 0. */
export interface CaseParams {
  kind: Kind;
  /** Body length of `data.body`, in characters (ASCII, so bytes). */
  size: number;
  /** Most measured messages or requests (the run also stops at `budgetMs`). */
  count: number;
  /** Most unmeasured messages or requests sent first (also stops at `warmupMs`). */
  warmup: number;
  /** Time budget of the measured part, in ms: the loop stops at `count` or at this, whichever is first. */
  budgetMs: number;
  /** Time budget of the warm-up, in ms. */
  warmupMs: number;
  /** Bound one-way actions (dispatch scenario); messages cycle through them. */
  actions: number;
  /** Requests in flight (pipelined). */
  inflight: number;
  /** Connections (idle, broadcast). */
  clients: number;
  /** Packets broadcast (broadcast). */
  packets: number;
  /** Streams open at once on the one connection (streams). */
  streams: number;
}

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

export interface CaseDef {
  id: string;
  scenario: string;
  title: string;
  params: CaseParams;
  metrics: MetricDef[];
  /** The metric charted and used for the headline ratio. */
  primary: string;
  /** Systems this case applies to (others are reported N/A); the four base systems when absent. */
  only?: SystemName[];
  /** The system ratios are taken to. @defaultValue 'net' (the node:net floor) */
  baseline?: SystemName;
}

export interface ScenarioDef {
  id: string;
  title: string;
  measures: string;
  cases: CaseDef[];
  /** Printed instead of running, while the feature does not exist. */
  notYet?: string;
}

const base: CaseParams = {
  kind: 'oneway',
  size: 100,
  count: 0,
  warmup: 0,
  budgetMs: 0,
  warmupMs: 0,
  actions: 1,
  inflight: 1,
  clients: 1,
  packets: 0,
  streams: 0,
};

const MSG_RATE: MetricDef = { key: 'msgPerSec', label: 'msg/s', unit: 'msg/s', better: 'higher' };

/** The scenarios, sized for a full or a quick run; `idleCap` caps connection counts (file descriptors). */
export function scenarios(quick: boolean, idleCap: number): ScenarioDef[] {
  const q = <T>(full: T, small: T): T => (quick ? small : full);
  // Capping by file descriptors can make two counts equal: keep each count once.
  const capped = (counts: number[]): number[] => [...new Set(counts.map((n) => Math.min(n, idleCap)))];
  const idleCounts = capped(q([1000, 5000, 10_000], [50, 100]));
  // Quick keeps one broadcast case: each is another run per system, and --quick must stay short.
  const broadcastCounts = capped(q([100, 1000, 5000], [50]));
  const timed = { budgetMs: q(1500, 300), warmupMs: q(400, 100) };
  return [
    {
      id: 'oneway',
      title: 'One-way throughput',
      measures:
        'One connection sends messages as fast as backpressure allows; the server counts them and sums their sequence numbers. Ends with a request whose reply carries the server’s totals.',
      cases: [
        {
          id: 'oneway-100',
          scenario: 'oneway',
          title: 'one-way, 100 B data',
          params: { ...base, ...timed, kind: 'oneway', size: 100, count: q(1_000_000, 3_000), warmup: q(20_000, 200) },
          metrics: [MSG_RATE],
          primary: 'msgPerSec',
        },
        {
          id: 'oneway-4k',
          scenario: 'oneway',
          title: 'one-way, 4 KiB data',
          params: { ...base, ...timed, kind: 'oneway', size: 4096, count: q(200_000, 500), warmup: q(4_000, 100) },
          metrics: [MSG_RATE],
          primary: 'msgPerSec',
        },
      ],
    },
    {
      id: 'rtt',
      title: 'Request/reply round trip',
      measures: 'One request in flight at a time, 100 B data echoed back; latency per round trip, measured in the client.',
      cases: [
        {
          id: 'rtt',
          scenario: 'rtt',
          title: 'round trip, 1 in flight',
          params: { ...base, ...timed, kind: 'rtt', size: 100, count: q(20_000, 300), warmup: q(1_000, 50) },
          metrics: [
            { key: 'p50Us', label: 'p50', unit: 'µs', better: 'lower' },
            { key: 'p99Us', label: 'p99', unit: 'µs', better: 'lower' },
          ],
          primary: 'p50Us',
        },
      ],
    },
    {
      id: 'pipelined',
      title: 'Pipelined request/reply',
      measures: '64 requests in flight on one connection, 100 B data echoed back and checked.',
      cases: [
        {
          id: 'pipelined',
          scenario: 'pipelined',
          title: 'pipelined, 64 in flight',
          params: { ...base, ...timed, kind: 'pipelined', size: 100, inflight: 64, count: q(300_000, 1_000), warmup: q(5_000, 200) },
          metrics: [{ key: 'reqPerSec', label: 'req/s', unit: 'req/s', better: 'higher' }],
          primary: 'reqPerSec',
        },
      ],
    },
    {
      id: 'dispatch',
      title: 'Dispatch cost',
      measures: 'One-way 100 B messages with 1 bound action, and with 1,000 bound actions (messages cycle through all of them).',
      cases: [1, 1000].map((actions) => ({
        id: `dispatch-${actions}`,
        scenario: 'dispatch',
        title: `dispatch, ${actions.toLocaleString('en-US')} bound action${actions === 1 ? '' : 's'}`,
        params: { ...base, ...timed, kind: 'oneway' as const, size: 100, actions, count: q(1_000_000, 3_000), warmup: q(20_000, 200) },
        metrics: [MSG_RATE],
        primary: 'msgPerSec',
        only: ['pnetwork' as const],
      })),
    },
    {
      id: 'idle',
      title: 'Idle connections',
      measures:
        'Clients connect (handshake done) and stay idle; server process memory (after gc) before and after, per connection, and the time to connect them all.',
      cases: idleCounts.map((clients) => ({
        id: `idle-${clients}`,
        scenario: 'idle',
        title: `${clients.toLocaleString('en-US')} idle connections`,
        params: { ...base, kind: 'idle' as const, clients },
        metrics: [
          { key: 'rssPerConn', label: 'RSS/conn', unit: 'B', better: 'lower' as const },
          { key: 'heapExtPerConn', label: 'heap+external/conn', unit: 'B', better: 'lower' as const },
          { key: 'connectMs', label: 'connect all', unit: 'ms', better: 'lower' as const },
        ],
        primary: 'rssPerConn',
      })),
    },
    {
      id: 'broadcast',
      title: 'Broadcast',
      measures:
        'The server broadcasts packets (100 B data) to every connected client; deliveries per second until every client has every packet, in all and per client. As many broadcasts go first, unmeasured, as every other throughput case warms up.',
      cases: broadcastCounts.map((clients) => ({
        id: `broadcast-${clients}`,
        scenario: 'broadcast',
        title: `broadcast to ${clients.toLocaleString('en-US')} clients`,
        params: { ...base, kind: 'broadcast' as const, size: 100, clients, packets: q(50, 5), warmup: q(50, 0) },
        metrics: [
          { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '1/s', better: 'higher' as const },
          { key: 'perClientPerSec', label: 'per client', unit: '1/s', better: 'higher' as const },
        ],
        primary: 'deliveriesPerSec',
      })),
    },
    {
      id: 'streams',
      title: 'Concurrent streams',
      measures:
        'One connection opens 1 to 1,000 streams at once (each `{ seq, body }` values with a 100 B body, credit as the defaults grant it) and reads them all; values per second in all, every stream checked for count and order.',
      cases: q([1, 10, 100, 1000], [1, 10, 100]).map((streams) => ({
        id: `streams-${streams}`,
        scenario: 'streams',
        title: `${streams.toLocaleString('en-US')} concurrent stream${streams === 1 ? '' : 's'}`,
        params: { ...base, ...timed, kind: 'streams' as const, size: 100, streams, count: q(200_000, 2_000), warmup: q(10_000, 200) },
        metrics: [{ key: 'valuesPerSec', label: 'values/s', unit: 'values/s', better: 'higher' as const }],
        primary: 'valuesPerSec',
        only: ['pnetwork' as const],
        baseline: 'pnetwork' as const,
      })),
    },
    {
      id: 'encryption',
      title: 'Encrypted vs plain vs node:tls',
      measures:
        'pnetwork over TLS 1.3 and over its secure channel against a hand-written node:tls floor (the node:net floor’s protocol over TLS 1.3) and plain pnetwork; the same RSA-2048 server key for all three; ratios are to the node:tls floor. Sealed packets: 100 B packets sealed and opened in one process per cipher back end.',
      cases: [
        {
          id: 'tls-oneway-100',
          scenario: 'encryption',
          title: 'TLS one-way, 100 B data',
          params: { ...base, ...timed, kind: 'oneway', size: 100, count: q(1_000_000, 3_000), warmup: q(20_000, 200) },
          metrics: [MSG_RATE],
          primary: 'msgPerSec',
          only: ['tls', 'pnetwork-tls', 'pnetwork-channel', 'pnetwork'],
          baseline: 'tls',
        },
        {
          id: 'tls-oneway-4k',
          scenario: 'encryption',
          title: 'TLS one-way, 4 KiB data',
          params: { ...base, ...timed, kind: 'oneway', size: 4096, count: q(200_000, 500), warmup: q(4_000, 100) },
          metrics: [MSG_RATE],
          primary: 'msgPerSec',
          only: ['tls', 'pnetwork-tls', 'pnetwork-channel', 'pnetwork'],
          baseline: 'tls',
        },
        {
          id: 'tls-connect',
          scenario: 'encryption',
          title: 'time to a connected, handshaken client',
          params: { ...base, ...timed, kind: 'connect', count: q(400, 20), warmup: q(20, 3) },
          metrics: [
            { key: 'connectUs', label: 'connect p50', unit: 'µs', better: 'lower' },
            { key: 'connectP90Us', label: 'connect p90', unit: 'µs', better: 'lower' },
          ],
          primary: 'connectUs',
          only: ['tls', 'pnetwork-tls', 'pnetwork-channel', 'pnetwork'],
          baseline: 'tls',
        },
        {
          id: 'sealed',
          scenario: 'encryption',
          title: 'sealed packets, 100 B data (RSA-2048), per back end',
          params: { ...base, ...timed, kind: 'sealed', size: 100, count: q(20_000, 100), warmup: q(200, 10) },
          metrics: ['node', 'forge'].flatMap((backend) => [
            { key: `${backend}SealPerSec`, label: `${backend} seal`, unit: '1/s', better: 'higher' as const },
            { key: `${backend}OpenPerSec`, label: `${backend} open`, unit: '1/s', better: 'higher' as const },
          ]),
          primary: 'nodeSealPerSec',
          only: ['pnetwork'],
          baseline: 'pnetwork',
        },
      ],
    },
  ];
}

/** Names of the one-way actions a case binds. */
export function actionNames(params: CaseParams): string[] {
  return Array.from({ length: params.actions }, (_, i) => `a${i}`);
}

interface Body {
  seq: number;
  body: string;
}

/** Server totals returned by the `done` request. */
export interface Totals {
  count: number;
  seqSum: number;
  bad: number;
}

/** Server-side behaviour for a case: counts one-way messages, echoes, and reports totals. */
export function serverHooks(params: CaseParams): ServerHooks & { unexpected: () => { count: number; first: string | null } } {
  let count = 0;
  let seqSum = 0;
  let bad = 0;
  let unexpected = 0;
  let first: string | null = null;
  return {
    oneWay: actionNames(params),
    requests: ['done', 'echo'],
    streams: ['feed'],
    *onStream(_action, data) {
      const { count: values } = data as { count: number };
      const body = 'f'.repeat(params.size);
      for (let seq = 0; seq < values; seq++) yield { seq, body };
    },
    onMessage(_action, data) {
      const body = data as Body;
      count++;
      seqSum += body.seq;
      if (body.body.length !== params.size) bad++;
    },
    onRequest(action, data) {
      if (action === 'echo') return data;
      const totals: Totals = { count, seqSum, bad };
      count = 0;
      seqSum = 0;
      bad = 0;
      return totals;
    },
    onUnexpected(what) {
      unexpected++;
      first ??= what;
    },
    unexpected: () => ({ count: unexpected, first }),
  };
}

/** Throws when a condition does not hold: the run is broken and must not report numbers. */
export function verify(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`verification failed: ${message}`);
}

const sumTo = (n: number): number => (n * (n - 1)) / 2;

/** Sends up to `limit` messages until `budgetMs` has passed; verifies the server's totals; returns the count sent. */
async function sendOneWay(connection: BenchConnection, params: CaseParams, limit: number, budgetMs: number, body: string): Promise<number> {
  const actions = actionNames(params);
  const end = performance.now() + budgetMs;
  let count = 0;
  while (count < limit && ((count & 255) !== 0 || performance.now() < end)) {
    const wait = connection.send(actions[count % actions.length]!, { seq: count, body });
    count++;
    if (wait !== undefined) await wait;
  }
  const totals = (await connection.request('done', null)) as Totals;
  verify(totals.count === count, `server counted ${totals.count} messages, expected ${count}`);
  verify(totals.seqSum === sumTo(count), `server sequence sum ${totals.seqSum}, expected ${sumTo(count)}`);
  verify(totals.bad === 0, `${totals.bad} messages had a body of the wrong length`);
  return count;
}

/** One-way throughput: warm up, then time `count` messages up to the reply carrying the server's totals. */
export async function runOneWay(connection: BenchConnection, params: CaseParams): Promise<Record<string, number>> {
  const body = 'x'.repeat(params.size);
  await sendOneWay(connection, params, params.warmup, params.warmupMs, body);
  const start = performance.now();
  const count = await sendOneWay(connection, params, params.count, params.budgetMs, body);
  const seconds = (performance.now() - start) / 1000;
  return { msgPerSec: round(count / seconds, 6), elapsedMs: round(seconds * 1000, 6), count };
}

async function echo(connection: BenchConnection, seq: number, body: string): Promise<void> {
  const sent: Body = { seq, body };
  const reply = await connection.request('echo', sent);
  verify(isDeepStrictEqual(reply, sent), `echo ${seq} came back different`);
}

/** Round trip, one in flight: per-request latency. */
export async function runRtt(connection: BenchConnection, params: CaseParams): Promise<Record<string, number | number[]>> {
  const body = 'y'.repeat(params.size);
  const warmEnd = performance.now() + params.warmupMs;
  for (let seq = 0; seq < params.warmup && performance.now() < warmEnd; seq++) await echo(connection, seq, body);
  const latencies = new Float64Array(params.count);
  const end = performance.now() + params.budgetMs;
  let count = 0;
  while (count < params.count && performance.now() < end) {
    const start = performance.now();
    await echo(connection, count, body);
    latencies[count++] = (performance.now() - start) * 1000;
  }
  verify(count >= 1, 'no round trip completed');
  const sorted = Array.from(latencies.subarray(0, count)).sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    p50Us: round(percentile(sorted, 50)),
    p90Us: round(percentile(sorted, 90)),
    p99Us: round(percentile(sorted, 99)),
    minUs: round(sorted[0]!),
    maxUs: round(sorted[sorted.length - 1]!),
    meanUs: round(mean),
    count,
    /** Latency at every whole percentile 0..100, in µs: the raw distribution in 101 numbers. */
    percentilesUs: Array.from({ length: 101 }, (_, p) => round(percentile(sorted, p))),
  };
}

/** Runs up to `count` requests, `inflight` at a time, starting new ones until `budgetMs` has passed. */
async function pipeline(connection: BenchConnection, count: number, budgetMs: number, inflight: number, body: string): Promise<{ started: number; done: number }> {
  const end = performance.now() + budgetMs;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() < end) {
      const seq = next++;
      await echo(connection, seq, body);
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
  return { started: next, done };
}

/** Pipelined requests: `inflight` concurrent request loops. */
export async function runPipelined(connection: BenchConnection, params: CaseParams): Promise<Record<string, number>> {
  const body = 'z'.repeat(params.size);
  const warm = await pipeline(connection, params.warmup, params.warmupMs, params.inflight, body);
  verify(warm.done === warm.started, `warm-up: ${warm.done} replies to ${warm.started} requests`);
  const start = performance.now();
  const { started, done } = await pipeline(connection, params.count, params.budgetMs, params.inflight, body);
  const seconds = (performance.now() - start) / 1000;
  verify(done === started && done > 0, `${done} replies to ${started} requests`);
  return { reqPerSec: round(done / seconds, 6), elapsedMs: round(seconds * 1000, 6), count: done };
}

/**
 * Reads `streams` streams at once on one connection, `values` values in all (split evenly); checks
 * every stream's count and order. Rejects once `limitMs` has passed, so the wait is bounded in time.
 */
async function readStreams(connection: BenchConnection, streams: number, values: number, limitMs: number): Promise<number> {
  const open = connection.stream?.bind(connection);
  verify(open !== undefined, 'this system has no streams');
  const each = Math.max(1, Math.floor(values / streams));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`streams not done within ${limitMs} ms`)), limitMs);
  });
  const one = async (): Promise<void> => {
    let next = 0;
    let wrong: string | null = null;
    await open('feed', { count: each }, (value) => {
      if ((value as Body).seq !== next++) wrong ??= `value ${(value as Body).seq} arrived as number ${next - 1}`;
    });
    verify(wrong === null, wrong ?? '');
    verify(next === each, `a stream ended after ${next} of ${each} values`);
  };
  try {
    await Promise.race([Promise.all(Array.from({ length: streams }, one)), late]);
  } finally {
    clearTimeout(timer);
  }
  return each * streams;
}

/** Concurrent streams: warm up, then time `streams` streams read at once, `count` values in all. */
export async function runStreams(connection: BenchConnection, params: CaseParams): Promise<Record<string, number>> {
  // Values are fixed per run (a stream is checked whole), so the time budget bounds the wait instead.
  await readStreams(connection, params.streams, params.warmup, Math.max(10_000, params.warmupMs * 20));
  const start = performance.now();
  const values = await readStreams(connection, params.streams, params.count, Math.max(20_000, params.budgetMs * 20));
  const seconds = (performance.now() - start) / 1000;
  return { valuesPerSec: round(values / seconds, 6), elapsedMs: round(seconds * 1000, 6), count: values };
}

/** Opens `count` connections, at most `parallel` at a time; resolves when all completed their handshake. */
export async function connectMany(
  system: BenchSystem,
  port: number,
  count: number,
  onPush: (index: number, action: string, data: unknown) => void,
  parallel = 100,
): Promise<BenchConnection[]> {
  const connections: BenchConnection[] = new Array<BenchConnection>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      connections[index] = await system.connect(port, {
        pushActions: ['b'],
        onPush: (action, data) => onPush(index, action, data),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  verify(connections.every(Boolean), 'not every connection opened');
  return connections;
}

/** Time to a connected client: connect (TCP, TLS handshake if any, the protocol's own hello), then close; one at a time. */
export async function runConnect(system: BenchSystem, port: number, params: CaseParams): Promise<Record<string, number | number[]>> {
  const once = async (): Promise<number> => {
    const start = performance.now();
    const connection = await system.connect(port, { pushActions: [], onPush: () => undefined });
    const took = (performance.now() - start) * 1000;
    connection.close();
    return took;
  };
  const warmEnd = performance.now() + params.warmupMs;
  for (let i = 0; i < params.warmup && performance.now() < warmEnd; i++) await once();
  const times: number[] = [];
  const end = performance.now() + params.budgetMs;
  while (times.length < params.count && (times.length === 0 || performance.now() < end)) times.push(await once());
  const sorted = times.sort((a, b) => a - b);
  return { connectUs: round(percentile(sorted, 50)), connectP90Us: round(percentile(sorted, 90)), count: sorted.length };
}

/** The calls the sealed-packet case needs from the library. */
export interface SealedPacketApi {
  encryptPacket(packet: BenchPacket, publicKey: string, options: { backend: 'node' | 'forge' }): unknown;
  decryptPacket(sealed: unknown, privateKey: string, options: { backend: 'node' | 'forge' }): BenchPacket;
}

/**
 * Sealed-packet throughput per cipher back end, in one process: seal up to `count` packets within
 * `budgetMs`, then open (and check) as many of them as fit in another `budgetMs`. Opening is bounded by
 * time too, because RSA decryption is far slower than encryption (with forge, opening everything that
 * was sealed in the budget takes longer than a run's deadline).
 */
export function runSealed(api: SealedPacketApi, keys: { publicKey: string; privateKey: string }, params: CaseParams): Record<string, number> {
  const body = 's'.repeat(params.size);
  const result: Record<string, number> = {};
  for (const backend of ['node', 'forge'] as const) {
    const rate = (count: number, budgetMs: number): { seal: number; open: number; sealed: number; opened: number } => {
      const sealed: unknown[] = [];
      let start = performance.now();
      const end = start + budgetMs;
      while (sealed.length < count && (sealed.length === 0 || performance.now() < end)) {
        sealed.push(api.encryptPacket(makePacket('chat', { seq: sealed.length, body }, null), keys.publicKey, { backend }));
      }
      const seal = sealed.length / ((performance.now() - start) / 1000);
      start = performance.now();
      const openEnd = start + budgetMs;
      let opened = 0;
      while (opened < sealed.length && (opened === 0 || performance.now() < openEnd)) {
        const packet = api.decryptPacket(sealed[opened], keys.privateKey, { backend });
        verify((packet.data as Body).seq === opened && (packet.data as Body).body === body, `${backend}: sealed packet ${opened} opened to something else`);
        opened++;
      }
      return { seal, open: opened / ((performance.now() - start) / 1000), sealed: sealed.length, opened };
    };
    rate(params.warmup, params.warmupMs);
    const measured = rate(params.count, params.budgetMs);
    result[`${backend}SealPerSec`] = round(measured.seal, 6);
    result[`${backend}OpenPerSec`] = round(measured.open, 6);
    result[`${backend}Count`] = measured.sealed;
    result[`${backend}OpenedCount`] = measured.opened;
  }
  return result;
}
