/**
 * Stream benchmarks, in one run: pnetwork's stream throughput (100 B values) against its one-way
 * `sendPacket` throughput, against rsocket-js 0.0.27 request-stream over TCP and against a node:net floor
 * doing the same job with the same credit rule (streams-floor.ts), plus the responder's memory while a
 * slow consumer reads a long stream. Servers run in a child process (streams-child.ts),
 * the client here. Every run verifies what arrived (count, order) and throws on a mismatch.
 *
 *   npx tsx bench/streams.ts            full: 3 rounds, 1,000,000-value slow-consumer run (~1 min)
 *   npx tsx bench/streams.ts --quick    smoke: 1 round, small counts; no targets evaluated
 *
 * `npm run bench` builds dist/ and runs this after bench/run.ts.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { floorClient } from './streams-floor.js';

const HOST = '127.0.0.1';
const quick = process.argv.includes('--quick');
const rounds = quick ? 1 : 3;
const SIZE = 100;
const COUNTS = quick ? { oneway: 20_000, stream: 20_000, rsocket: 5_000, slow: 20_000 } : { oneway: 500_000, stream: 500_000, rsocket: 200_000, slow: 1_000_000 };
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEADLINE_MS = quick ? 60_000 : 300_000;

interface Child {
  process: ChildProcess;
  port: number;
  ask<T>(message: object, key: string): Promise<T>;
}

/** Starts the server child for `system` and waits for its port. */
function startChild(system: 'pnetwork' | 'rsocket' | 'net'): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./streams-child.ts', import.meta.url)), [system], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => reject(new Error(`${system} server did not start`)), 20_000);
    child.once('error', reject);
    child.once('message', (message: { port?: number }) => {
      clearTimeout(timer);
      const ask = <T>(question: object, key: string): Promise<T> =>
        new Promise<T>((answer) => {
          const onMessage = (reply: Record<string, unknown>): void => {
            if (!(key in reply)) return;
            child.off('message', onMessage);
            answer(reply as T);
          };
          child.on('message', onMessage);
          child.send(question);
        });
      resolve({ process: child, port: message.port!, ask });
    });
  });
}

function verify(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`verification failed: ${message}`);
}

interface Value {
  seq: number;
  body: string;
}

interface PnClient {
  start(): Promise<void>;
  stop(): Promise<void>;
  sendPacket(action: string, data: unknown): Promise<void>;
  request(action: string, data: unknown): Promise<unknown>;
  stream(action: string, data: unknown, options?: { prefetch?: number }): { subscribe(observer: object): { unsubscribe(): void } };
  demandStream(action: string, data: unknown): { values$: { subscribe(observer: object): { unsubscribe(): void } }; request(n: number): void };
}

async function pnClient(port: number): Promise<PnClient> {
  const entry = '../dist/index.js';
  const { Client } = (await import(entry)) as { Client: new (options: object) => PnClient };
  const client = new Client({ host: HOST, port, reconnect: false, heartbeatIntervalMs: 0 });
  await client.start();
  return client;
}

/** One-way: `count` sendPacket calls, at most 1,024 unsettled, then the server's totals by request. */
async function oneWay(client: PnClient, count: number): Promise<number> {
  const body = 'x'.repeat(SIZE);
  const start = performance.now();
  let inFlight: Array<Promise<void>> = [];
  for (let seq = 0; seq < count; seq++) {
    inFlight.push(client.sendPacket('sink', { seq, body }));
    if (inFlight.length >= 1024) {
      await inFlight[inFlight.length - 768];
      inFlight = inFlight.slice(-768);
    }
  }
  const totals = (await client.request('done', null)) as { count: number; seqSum: number };
  const seconds = (performance.now() - start) / 1000;
  verify(totals.count === count, `server counted ${totals.count} of ${count}`);
  verify(totals.seqSum === (count * (count - 1)) / 2, 'sequence sum');
  return count / seconds;
}

/**
 * The wide window the stream is also measured with: the default (256) holds the responder to 256 values
 * per round trip of credit, which on this machine's loopback bounds it below one-way sends, which have no
 * window at all.
 */
const WIDE_PREFETCH = 2048;

/** A stream of `count` values with a prefetch window of `prefetch`, checked in order. */
function pnStream(client: PnClient, count: number, prefetch = 256): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 0;
    const start = performance.now();
    client.stream('feed', { count, size: SIZE }, { prefetch }).subscribe({
      next: (value: Value) => {
        if (value.seq !== next++ || value.body.length !== SIZE) reject(new Error(`value ${value.seq} out of order or malformed`));
      },
      error: reject,
      complete: () => {
        if (next !== count) reject(new Error(`stream ended after ${next} of ${count}`));
        else resolve(count / ((performance.now() - start) / 1000));
      },
    });
  });
}

/** rsocket-js requestStream with RSocket's own prefetch pattern: request 256, then 192 per 192 received. */
async function rsStream(port: number, count: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const { RSocketClient, Utf8Encoders } = require('rsocket-core') as {
    RSocketClient: new (options: object) => { connect(): { subscribe(observer: object): void }; close(): void };
    Utf8Encoders: unknown;
  };
  const RSocketTcpClient = (require('rsocket-tcp-client') as { default: new (options: object, encoders: unknown) => unknown }).default;
  const client = new RSocketClient({
    setup: { keepAlive: 60_000, lifetime: 180_000, dataMimeType: 'application/json', metadataMimeType: 'text/plain' },
    transport: new RSocketTcpClient({ host: HOST, port, noDelay: true }, Utf8Encoders),
  });
  interface RsSocket {
    requestStream(payload: { data: string; metadata: string }): { subscribe(observer: object): void };
  }
  const socket = await new Promise<RsSocket>((resolve, reject) => client.connect().subscribe({ onComplete: resolve, onError: reject }));
  try {
    return await new Promise<number>((resolve, reject) => {
      let next = 0;
      let sinceRequest = 0;
      let subscription: { request(n: number): void } | null = null;
      const start = performance.now();
      socket.requestStream({ data: JSON.stringify({ count, size: SIZE }), metadata: '' }).subscribe({
        onSubscribe: (sub: { request(n: number): void }) => {
          subscription = sub;
          sub.request(256);
        },
        onNext: (payload: { data: string }) => {
          const value = JSON.parse(payload.data) as Value;
          if (value.seq !== next++ || value.body.length !== SIZE) reject(new Error(`rsocket value ${value.seq} out of order`));
          if (++sinceRequest === 192) {
            sinceRequest = 0;
            subscription!.request(192);
          }
        },
        onError: reject,
        onComplete: () => {
          if (next !== count) reject(new Error(`rsocket stream ended after ${next} of ${count}`));
          else resolve(count / ((performance.now() - start) / 1000));
        },
      });
    });
  } finally {
    client.close();
  }
}

/**
 * The slow consumer: a demand stream read at most 64 values per millisecond, while the responder's
 * heap is sampled after GC every 250 ms. Flat means the spread of those samples.
 */
async function slowConsumer(client: PnClient, child: Child, count: number): Promise<{ valuesPerSec: number; heapMinMiB: number; heapMaxMiB: number; heapSpreadMiB: number; samples: number }> {
  await child.ask({ cmd: 'sample', everyMs: 250 }, 'sampling');
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const feed = client.demandStream('feed', { count, size: SIZE });
    let next = 0;
    const ticker = setInterval(() => feed.request(64), 1);
    feed.values$.subscribe({
      next: (value: Value) => {
        if (value.seq !== next++) reject(new Error(`slow stream: value ${value.seq} out of order`));
      },
      error: (err: unknown) => {
        clearInterval(ticker);
        reject(err as Error);
      },
      complete: () => {
        clearInterval(ticker);
        if (next !== count) reject(new Error(`slow stream ended after ${next} of ${count}`));
        else resolve();
      },
    });
  });
  const seconds = (performance.now() - start) / 1000;
  const { samples } = await child.ask<{ samples: number[] }>({ cmd: 'samples' }, 'samples');
  // The first samples include the warm-up of the stream machinery and of JIT: skip the first second.
  const steady = samples.slice(Math.min(4, Math.max(0, samples.length - 2)));
  verify(steady.length >= 1, 'no memory samples');
  const mib = (bytes: number): number => Math.round((bytes / 1024 ** 2) * 100) / 100;
  const min = Math.min(...steady);
  const max = Math.max(...steady);
  return { valuesPerSec: Math.round(count / seconds), heapMinMiB: mib(min), heapMaxMiB: mib(max), heapSpreadMiB: mib(max - min), samples: steady.length };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function main(): Promise<void> {
  const startLoad = loadavg()[0] ?? 0;
  const deadline = setTimeout(() => {
    console.error(`stream bench passed its deadline of ${DEADLINE_MS} ms`);
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  console.log(`pnetwork stream benchmarks: ${quick ? 'quick' : 'full'} run, ${rounds} round(s); ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}, load ${loadavg()[0]?.toFixed(2)}`);
  const runs: Record<string, number[]> = { oneway: [], stream: [], streamWide: [], rsocket: [], floorOneway: [], floorStream: [], floorStreamWide: [] };
  for (let round = 1; round <= rounds; round++) {
    const pn = await startChild('pnetwork');
    const client = await pnClient(pn.port);
    runs.oneway!.push(await oneWay(client, COUNTS.oneway));
    runs.stream!.push(await pnStream(client, COUNTS.stream));
    runs.streamWide!.push(await pnStream(client, COUNTS.stream, WIDE_PREFETCH));
    await client.stop();
    pn.process.disconnect();
    const rs = await startChild('rsocket');
    runs.rsocket!.push(await rsStream(rs.port, COUNTS.rsocket));
    rs.process.disconnect();
    const net = await startChild('net');
    const floor = await floorClient(net.port);
    runs.floorOneway!.push(await floor.oneWay(COUNTS.oneway, SIZE));
    runs.floorStream!.push(await floor.stream(COUNTS.stream, SIZE, 256));
    runs.floorStreamWide!.push(await floor.stream(COUNTS.stream, SIZE, WIDE_PREFETCH));
    floor.close();
    net.process.disconnect();
    console.log(
      `  round ${round}: pnetwork one-way ${Math.round(runs.oneway!.at(-1)!)} msg/s, pnetwork stream ${Math.round(runs.stream!.at(-1)!)} values/s (prefetch ${WIDE_PREFETCH}: ${Math.round(runs.streamWide!.at(-1)!)}), rsocket-js request-stream ${Math.round(runs.rsocket!.at(-1)!)} values/s, node:net floor one-way ${Math.round(runs.floorOneway!.at(-1)!)} msg/s, stream ${Math.round(runs.floorStream!.at(-1)!)} values/s (prefetch ${WIDE_PREFETCH}: ${Math.round(runs.floorStreamWide!.at(-1)!)})`,
    );
  }
  const pn = await startChild('pnetwork');
  const client = await pnClient(pn.port);
  const slow = await slowConsumer(client, pn, COUNTS.slow);
  await client.stop();
  pn.process.disconnect();
  console.log(
    `  slow consumer: ${COUNTS.slow.toLocaleString('en-US')} values at ${slow.valuesPerSec} values/s; responder heap after GC ${slow.heapMinMiB}–${slow.heapMaxMiB} MiB over ${slow.samples} samples (spread ${slow.heapSpreadMiB} MiB)`,
  );
  const oneway = median(runs.oneway!);
  const stream = median(runs.stream!);
  const streamWide = median(runs.streamWide!);
  const rsocket = median(runs.rsocket!);
  const floorOneway = median(runs.floorOneway!);
  const floorStream = median(runs.floorStream!);
  const floorStreamWide = median(runs.floorStreamWide!);
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  const results = {
    mode: quick ? 'quick' : 'full',
    finishedAt: new Date().toISOString(),
    command: `npx tsx bench/streams.ts${quick ? ' --quick' : ''}`,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadAverage: Math.round(startLoad * 100) / 100 },
    counts: COUNTS,
    valueBytes: SIZE,
    runs,
    medians: {
      onewayMsgPerSec: Math.round(oneway),
      streamValuesPerSec: Math.round(stream),
      streamWideValuesPerSec: Math.round(streamWide),
      rsocketValuesPerSec: Math.round(rsocket),
      floorOnewayMsgPerSec: Math.round(floorOneway),
      floorStreamValuesPerSec: Math.round(floorStream),
      floorStreamWideValuesPerSec: Math.round(floorStreamWide),
    },
    ratios: {
      streamToOneway: ratio(stream, oneway),
      streamWideToOneway: ratio(streamWide, oneway),
      streamToRsocket: ratio(stream, rsocket),
      floorStreamToFloorOneway: ratio(floorStream, floorOneway),
      floorStreamWideToFloorOneway: ratio(floorStreamWide, floorOneway),
      streamToFloorStream: ratio(stream, floorStream),
      streamWideToFloorStreamWide: ratio(streamWide, floorStreamWide),
    },
    slowConsumer: slow,
  };
  console.log('\n== medians');
  console.log(`  pnetwork one-way      ${results.medians.onewayMsgPerSec} msg/s`);
  console.log(`  pnetwork stream       ${results.medians.streamValuesPerSec} values/s  (${results.ratios.streamToOneway}× one-way)`);
  console.log(`  same, prefetch ${WIDE_PREFETCH}  ${results.medians.streamWideValuesPerSec} values/s  (${results.ratios.streamWideToOneway}× one-way)`);
  console.log(`  rsocket-js stream     ${results.medians.rsocketValuesPerSec} values/s  (pnetwork ${results.ratios.streamToRsocket}× rsocket-js)`);
  console.log(`  node:net floor        one-way ${results.medians.floorOnewayMsgPerSec} msg/s, stream ${results.medians.floorStreamValuesPerSec} values/s (${results.ratios.floorStreamToFloorOneway}× its one-way; pnetwork's stream ${results.ratios.streamToFloorStream}× it), prefetch ${WIDE_PREFETCH} ${results.medians.floorStreamWideValuesPerSec} values/s (${results.ratios.floorStreamWideToFloorOneway}×)`);
  if (quick) console.log('  targets not evaluated: --quick is a smoke run');
  else {
    const check = (ok: boolean, text: string): void => console.log(`  ${ok ? 'PASS' : 'MISS'} ${text}`);
    check(results.ratios.streamToOneway >= 0.8, `stream ≥ 0.8× one-way: ${results.ratios.streamToOneway}× (default prefetch 256; ${results.ratios.streamWideToOneway}× with ${WIDE_PREFETCH})`);
    check(results.ratios.streamToRsocket >= 3, `stream ≥ 3× rsocket-js: ${results.ratios.streamToRsocket}×`);
    check(slow.heapSpreadMiB <= 10, `responder heap flat within 10 MiB over ${COUNTS.slow.toLocaleString('en-US')} slow values: ${slow.heapSpreadMiB} MiB`);
  }
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  const file = `${ROOT}bench/results/${quick ? 'streams-quick-latest' : `streams-${results.finishedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}`}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
  console.log(`results: ${file}`);
  if (!quick) {
    writeFileSync(`${ROOT}docs/benchmarks-streams.md`, report(results));
    console.log('wrote docs/benchmarks-streams.md');
  }
}

/** docs/benchmarks-streams.md from a full run: generated, never hand-edited. */
function report(results: {
  finishedAt: string;
  command: string;
  machine: { cpu: string; cores: number; node: string; loadAverage: number };
  counts: typeof COUNTS;
  runs: Record<string, number[]>;
  medians: Record<'onewayMsgPerSec' | 'streamValuesPerSec' | 'streamWideValuesPerSec' | 'rsocketValuesPerSec' | 'floorOnewayMsgPerSec' | 'floorStreamValuesPerSec' | 'floorStreamWideValuesPerSec', number>;
  ratios: Record<'streamToOneway' | 'streamWideToOneway' | 'streamToRsocket' | 'floorStreamToFloorOneway' | 'floorStreamWideToFloorOneway' | 'streamToFloorStream' | 'streamWideToFloorStreamWide', number>;
  slowConsumer: { valuesPerSec: number; heapMinMiB: number; heapMaxMiB: number; heapSpreadMiB: number; samples: number };
}): string {
  const n = (value: number): string => Math.round(value).toLocaleString('en-US');
  const runs = (key: string): string => results.runs[key]!.map(n).join(', ');
  const slow = results.slowConsumer;
  const mark = (ok: boolean): string => (ok ? 'met' : '**missed**');
  return `# Stream benchmarks

Generated by \`${results.command}\` (part of \`npm run bench\`) on ${results.finishedAt}: ${results.machine.cpu} × ${results.machine.cores}, Node ${results.machine.node}.
Servers run in a child process, the client in the bench process, over 127.0.0.1. Values are \`{ seq, body }\`
with a 100-character body; every run checks the count and the order of what arrived. Medians of 3 rounds.

| measurement | median | rounds | target |
|---|---|---|---|
| pnetwork one-way \`sendPacket\` (${n(results.counts.oneway)} packets) | ${n(results.medians.onewayMsgPerSec)} msg/s | ${runs('oneway')} | |
| pnetwork \`stream()\`, prefetch 256, async-generator handler (${n(results.counts.stream)} values) | ${n(results.medians.streamValuesPerSec)} values/s | ${runs('stream')} | ≥ 0.8× one-way: ${results.ratios.streamToOneway}×, ${mark(results.ratios.streamToOneway >= 0.8)} |
| the same with prefetch ${WIDE_PREFETCH} | ${n(results.medians.streamWideValuesPerSec)} values/s | ${runs('streamWide')} | ${results.ratios.streamWideToOneway}× one-way (the target is judged at the default) |
| rsocket-js 0.0.27 request-stream over TCP, request(256) then 192 per 192, noDelay (${n(results.counts.rsocket)} values) | ${n(results.medians.rsocketValuesPerSec)} values/s | ${runs('rsocket')} | pnetwork ≥ 3×: ${results.ratios.streamToRsocket}×, ${mark(results.ratios.streamToRsocket >= 3)} |
| node:net floor, one-way (\`{ action, data }\`, writes coalesced per tick) | ${n(results.medians.floorOnewayMsgPerSec)} msg/s | ${runs('floorOneway')} | |
| node:net floor, stream with credit 256, a grant of 192 per 192 | ${n(results.medians.floorStreamValuesPerSec)} values/s | ${runs('floorStream')} | ${results.ratios.floorStreamToFloorOneway}× the floor's one-way; pnetwork's stream is ${results.ratios.streamToFloorStream}× it |
| the floor's stream with prefetch ${WIDE_PREFETCH} | ${n(results.medians.floorStreamWideValuesPerSec)} values/s | ${runs('floorStreamWide')} | ${results.ratios.floorStreamWideToFloorOneway}× the floor's one-way; pnetwork's is ${results.ratios.streamWideToFloorStreamWide}× it |

**Why the default window is slower.** With a prefetch of 256 the responder may run 256 values ahead;
the requester grants more when 192 are used, and the responder waits for that grant once its credit is
spent. Each grant costs a round trip across two processes, so throughput at the default is bounded by
256 values per round trip; a wider window keeps the responder busy. The node:net floor shows what the
window itself costs: the same credit rule in the least code (a server writing values in a loop while it
holds credit, flushed every 64 values; a client granting 192 per 192 at once) reached
${results.ratios.floorStreamToFloorOneway}× of its own one-way rate in this run.

**Slow consumer.** A \`demandStream()\` of ${n(results.counts.slow)} values asking for 64 values per millisecond
(${n(slow.valuesPerSec)} values/s delivered) from a handler that could produce far faster. The responder's heap
after a forced GC, sampled every 250 ms past the first second (${slow.samples} samples): ${slow.heapMinMiB}–${slow.heapMaxMiB} MiB,
a spread of ${slow.heapSpreadMiB} MiB (target: flat within 10 MiB, ${mark(slow.heapSpreadMiB <= 10)}).

The machine is shared (load average ${results.machine.loadAverage} at the start on ${results.machine.cores} cores):
other work ran during the run, so absolute numbers move between runs; the ratios compare medians of the same run.
`;
}

await main();
