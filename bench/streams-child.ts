/**
 * The server side of the stream benchmark, in its own process: a pnetwork server (from dist/), an
 * rsocket-js 0.0.27 TCP server or the node:net floor (streams-floor.ts), on 127.0.0.1, port 0. It sends `{ port }` over IPC once listening and
 * answers `{ cmd: 'memory' }` with its memory after a full GC. It exits when the parent disconnects.
 *
 * Every stream it serves is `count` values `{ seq, body }` (body of `size` characters), produced only
 * as the consumer's credit allows: a pnetwork async generator, an rsocket Flowable honouring request(n).
 * @module
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { startFloorServer } from './streams-floor.js';

const HOST = '127.0.0.1';
const system = process.argv[2];

interface StreamRequest {
  count: number;
  size: number;
}

function send(message: unknown): void {
  process.send?.(message);
}

async function settledMemory(): Promise<{ rss: number; heapUsed: number; external: number; arrayBuffers: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the stream bench child needs --expose-gc');
  for (let i = 0; i < 2; i++) {
    gc();
    await sleep(10);
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

/** Memory after GC every `everyMs` while a stream runs: the slow-consumer scenario reads these. */
const samples: number[] = [];
let sampling: NodeJS.Timeout | null = null;

async function startPnetwork(): Promise<number> {
  const entry = '../dist/index.js';
  const { Server } = (await import(entry)) as {
    Server: new (options: { host: string; port: number }) => {
      start(): Promise<void>;
      address(): { port: number };
      bindAction(action: string, handler: (data: never) => unknown): unknown;
    };
  };
  const server = new Server({ host: HOST, port: 0 });
  let count = 0;
  let seqSum = 0;
  server.bindAction('sink', (data: { seq: number }) => {
    count++;
    seqSum += data.seq;
  });
  server.bindAction('done', () => {
    const totals = { count, seqSum };
    count = 0;
    seqSum = 0;
    return totals;
  });
  server.bindAction('feed', async function* ({ count: n, size }: StreamRequest) {
    const body = 'x'.repeat(size);
    for (let seq = 0; seq < n; seq++) yield { seq, body };
  });
  await server.start();
  return server.address().port;
}

/** The parts of rsocket-js 0.0.27 the benchmark uses (it ships Flow types, not TypeScript). */
interface RsSubscriber {
  onSubscribe(subscription: { request(n: number): void; cancel(): void }): void;
  onNext(payload: { data: string; metadata: string }): void;
  onComplete(): void;
}
interface RsocketCore {
  RSocketServer: new (options: { getRequestHandler: () => object; transport: never }) => { start(): void };
  Utf8Encoders: unknown;
}
interface RsocketFlowable {
  Flowable: new (source: (subscriber: RsSubscriber) => void) => unknown;
}

async function startRsocket(): Promise<number> {
  // rsocket-js 0.x is CommonJS.
  const require = createRequire(import.meta.url);
  const { RSocketServer, Utf8Encoders } = require('rsocket-core') as RsocketCore;
  const RSocketTCPServer = (require('rsocket-tcp-server') as { default: new (options: object, encoders: unknown) => unknown }).default;
  const { Flowable } = require('rsocket-flowable') as RsocketFlowable;
  let listening: NetServer | null = null;
  const ready = new Promise<number>((resolve) => {
    const transport = new RSocketTCPServer(
      {
        host: HOST,
        port: 0,
        serverFactory: (onConnection: (socket: Socket) => void) => {
          // Nagle's algorithm would hold the small frames (REQUEST_N) back; pnetwork sets noDelay too.
          listening = createServer((socket) => {
            socket.setNoDelay(true);
            onConnection(socket);
          });
          listening.once('listening', () => {
            const address = listening!.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
          return listening;
        },
      },
      Utf8Encoders,
    );
    const server = new RSocketServer({
      getRequestHandler: () => ({
        requestStream: (payload: { data: string }) =>
          new Flowable((subscriber) => {
            const { count: n, size } = JSON.parse(payload.data) as StreamRequest;
            const body = 'x'.repeat(size);
            let seq = 0;
            let cancelled = false;
            subscriber.onSubscribe({
              cancel: () => {
                cancelled = true;
              },
              request: (demand: number) => {
                while (demand-- > 0 && seq < n && !cancelled) subscriber.onNext({ data: JSON.stringify({ seq: seq++, body }), metadata: '' });
                if (seq === n && !cancelled) {
                  cancelled = true;
                  subscriber.onComplete();
                }
              },
            });
          }),
      }),
      transport: transport as never,
    });
    server.start();
  });
  return ready;
}

process.on('message', (message: { cmd: string; everyMs?: number }) => {
  void (async () => {
    if (message.cmd === 'memory') send({ memory: await settledMemory() });
    else if (message.cmd === 'sample') {
      samples.length = 0;
      const take = async (): Promise<void> => {
        samples.push((await settledMemory()).heapUsed);
        if (sampling) sampling = setTimeout(() => void take(), message.everyMs ?? 250);
      };
      sampling = setTimeout(() => void take(), 0);
      send({ sampling: true });
    } else if (message.cmd === 'samples') {
      if (sampling) clearTimeout(sampling);
      sampling = null;
      send({ samples: [...samples], memory: await settledMemory() });
    }
  })();
});
process.on('disconnect', () => process.exit(0));

const port = system === 'rsocket' ? await startRsocket() : system === 'net' ? await startFloorServer() : await startPnetwork();
send({ port });
