/**
 * Child process entry for one side of one run: `server` or `client` (argv[2]). Commands arrive over
 * IPC as `{ id, cmd, args }`; each gets `{ id, ok, result }` or `{ id, ok: false, error }`.
 * The parent kills the process when the run ends (or its deadline passes).
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { loadSystem, type SystemName } from './systems/index.js';
import type { BenchConnection, BenchServer, BenchSystem } from './systems/types.js';
import { connectMany, runConnect, runOneWay, runPipelined, runRtt, runSealed, runStreams, serverHooks, verify, type CaseParams } from './scenarios.js';
import { benchTls } from './systems/bench-keys.js';
import { sealedPackets } from './systems/pnetwork.js';

type Handler = (args: Record<string, unknown>) => unknown;

const role = process.argv[2];
if (role !== 'server' && role !== 'client') throw new Error(`child role must be server or client, not ${String(role)}`);

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

async function settledMemory(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('server child needs --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

function serverCommands(): Record<string, Handler> {
  let server: BenchServer | null = null;
  let hooks: ReturnType<typeof serverHooks> | null = null;
  const need = (): BenchServer => {
    if (!server) throw new Error('server not started');
    return server;
  };
  return {
    async start(args) {
      const system = await loadSystem(args.system as SystemName);
      hooks = serverHooks(args.params as CaseParams);
      server = system.createServer(hooks);
      const port = await server.start();
      return { port };
    },
    memory: () => settledMemory(),
    async waitClients(args) {
      const expected = args.expected as number;
      const until = Date.now() + 10_000;
      while (need().clientCount() !== expected && Date.now() < until) await sleep(20);
      const clients = need().clientCount();
      verify(clients === expected, `server sees ${clients} clients, expected ${expected}`);
      return { clients };
    },
    async broadcast(args) {
      const packets = args.packets as number;
      const body = 'b'.repeat(args.size as number);
      // Every broadcast is issued before any is awaited, as a server that broadcasts in a loop does: a
      // system whose promise waits for the socket handoff is not made to pay a tick per broadcast.
      const sends: Array<Promise<number>> = [];
      for (let seq = 0; seq < packets; seq++) sends.push(need().broadcast('b', { seq, body }));
      let recipients = 0;
      for (const count of await Promise.all(sends)) recipients += count;
      return { recipients };
    },
    async reset() {
      const stopping = server?.stop().catch(() => undefined);
      server = null;
      hooks = null;
      await Promise.race([stopping, sleep(1000)]);
      return {};
    },
    check: () => ({ unexpected: hooks?.unexpected() ?? { count: 0, first: null }, clients: need().clientCount() }),
  };
}

function clientCommands(): Record<string, Handler> {
  let system: BenchSystem | null = null;
  let port = 0;
  let params: CaseParams | null = null;
  let connections: BenchConnection[] = [];
  let received: Int32Array = new Int32Array(0);
  let seqSums: Float64Array = new Float64Array(0);
  let total = 0;
  let target = Number.POSITIVE_INFINITY;
  let reached: (() => void) | null = null;
  let pushError: string | null = null;
  const need = (): { system: BenchSystem; params: CaseParams } => {
    if (!system || !params) throw new Error('client not initialised');
    return { system, params };
  };
  return {
    async init(args) {
      system = await loadSystem(args.system as SystemName);
      port = args.port as number;
      params = args.params as CaseParams;
      return {};
    },
    async run() {
      const { system: s, params: p } = need();
      if (p.kind === 'connect') return runConnect(s, port, p);
      if (p.kind === 'sealed') {
        const { publicKey, key } = benchTls();
        return runSealed(await sealedPackets(), { publicKey, privateKey: key }, p);
      }
      const connection = await s.connect(port, { pushActions: [], onPush: () => undefined });
      connections = [connection];
      switch (p.kind) {
        case 'oneway':
          return runOneWay(connection, p);
        case 'rtt':
          return runRtt(connection, p);
        case 'pipelined':
          return runPipelined(connection, p);
        case 'streams':
          return runStreams(connection, p);
        default:
          throw new Error(`run does not handle ${p.kind}`);
      }
    },
    async connectAll(args) {
      const { system: s, params: p } = need();
      const adding = args.clients as number;
      const offset = connections.length;
      if (received.length < p.clients) {
        received = new Int32Array(p.clients);
        seqSums = new Float64Array(p.clients);
      }
      const start = performance.now();
      const added = await connectMany(s, port, adding, (local, action, data) => {
        const index = offset + local;
        if (action !== 'b') pushError ??= `unexpected push ${action}`;
        const seq = (data as { seq: number }).seq;
        received[index]!++;
        seqSums[index]! += seq;
        total++;
        if (total >= target && reached) reached();
      });
      connections = connections.concat(added);
      return { connectMs: performance.now() - start, connected: connections.length };
    },
    reset() {
      for (const connection of connections) connection.close();
      connections = [];
      received = new Int32Array(0);
      seqSums = new Float64Array(0);
      system = null;
      params = null;
      total = 0;
      target = Number.POSITIVE_INFINITY;
      reached = null;
      pushError = null;
      return {};
    },
    async awaitBroadcast(args) {
      const { params: p } = need();
      target = p.clients * ((args.packets as number | undefined) ?? p.packets);
      if (total < target) {
        await new Promise<void>((resolve) => {
          reached = resolve;
        });
      }
      return { deliveries: total };
    },
    async verifyBroadcast(args) {
      const { params: p } = need();
      const packets = (args.packets as number | undefined) ?? p.packets;
      // Let anything extra (duplicates) arrive before checking exact counts.
      await sleep(50);
      verify(pushError === null, pushError ?? '');
      const expectedSum = (packets * (packets - 1)) / 2;
      for (let i = 0; i < p.clients; i++) {
        verify(received[i] === packets, `client ${i} received ${received[i]} packets, expected ${packets}`);
        verify(seqSums[i] === expectedSum, `client ${i} sequence sum ${seqSums[i]}, expected ${expectedSum}`);
      }
      return { deliveries: total };
    },
    /** Starts the counts again after the warm-up's broadcasts (every one of them checked). */
    resetBroadcast() {
      received.fill(0);
      seqSums.fill(0);
      total = 0;
      target = Number.POSITIVE_INFINITY;
      reached = null;
      return {};
    },
  };
}

const commands = role === 'server' ? serverCommands() : clientCommands();

process.on('message', (message: { id: number; cmd: string; args: Record<string, unknown> }) => {
  const reply = (body: Record<string, unknown>): void => {
    process.send?.({ id: message.id, ...body });
  };
  const handler = commands[message.cmd];
  if (!handler) {
    reply({ ok: false, error: `unknown command ${message.cmd}` });
    return;
  }
  Promise.resolve()
    .then(() => handler(message.args))
    .then(
      (result) => reply({ ok: true, result }),
      (error: unknown) => reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
});

process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true, result: { ready: role } });
