/**
 * pnetwork, through its public API: `Server` / `Client` from the compiled package in dist/, which is
 * what users run (`npm run bench` builds it first). Running lib/ through tsx instead would measure the
 * TypeScript loader too: it wraps every closure with a name-keeping helper that costs time and memory.
 *
 * The module is loaded dynamically and typed here structurally (only the members the benchmark uses),
 * so that typechecking bench/ never depends on a build. `loadPnetwork()` throws a readable error when
 * dist/ is missing; the orchestrator then skips pnetwork.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchTls } from './bench-keys.js';
import {
  HOST,
  type BenchPacket,
  type BenchConnection,
  type BenchServer,
  type BenchSystem,
  type ConnectOptions,
  type ServerHooks,
} from './types.js';

/** The server members the benchmark uses. */
interface PnServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  address(): { host: string; port: number };
  readonly clients: ReadonlyMap<string, unknown>;
  bindAction(action: string, handler: (data: unknown, packet: unknown, connection: unknown) => unknown): { unsubscribe(): void };
  broadcast(action: string, data: unknown): Promise<number>;
}

/** The client members the benchmark uses. */
interface PnClient {
  start(): Promise<void>;
  stop(): Promise<void>;
  sendPacket(action: string, data: unknown): Promise<void>;
  request(action: string, data: unknown): Promise<unknown>;
  bindAction(action: string, handler: (data: unknown, packet: unknown, connection: unknown) => unknown): { unsubscribe(): void };
  stream(action: string, data: unknown): { subscribe(observer: { next(value: unknown): void; error(error: unknown): void; complete(): void }): unknown };
}

interface BenchKeys {
  privateKey: string;
  publicKey: string;
}

/** How a pnetwork system protects its connections: plain TCP, TLS 1.3, or the secure channel. */
type Security = 'plain' | 'tls' | 'channel';

interface PnModule {
  Server: new (options: { host: string; port: number; tls?: { keys: BenchKeys }; encryption?: { keys: BenchKeys } }) => PnServer;
  Client: new (options: { host: string; port: number; reconnect?: boolean; tls?: { serverFingerprint: string }; encryption?: { serverFingerprint: string } }) => PnClient;
  encryptPacket(packet: BenchPacket, publicKey: string, options: { backend: 'node' | 'forge' }): unknown;
  decryptPacket(sealed: unknown, privateKey: string, options: { backend: 'node' | 'forge' }): BenchPacket;
}

/** One-way sends allowed in flight (promise not yet settled) before the sender waits. */
const MAX_IN_FLIGHT = 1024;
/** The sender resumes once in-flight sends fall to this. */
const RESUME_AT = 256;

let loaded: Promise<PnModule> | null = null;

/** Files the adapter needs before it tries to load the library. */
export const REQUIRED_FILES = ['dist/index.js', 'dist/server.js', 'dist/client.js'];

/**
 * Loads dist/index.js and checks it exports `Server` and `Client`.
 * @throws Error saying what is missing
 */
export function loadPnetwork(): Promise<PnModule> {
  loaded ??= (async () => {
    const missing = REQUIRED_FILES.filter((file) => !existsSync(fileURLToPath(new URL(`../../${file}`, import.meta.url))));
    if (missing.length > 0) throw new Error(`${missing.join(', ')} missing: run npm run build`);
    const entry = '../../dist/index.js';
    const module = (await import(entry)) as Partial<PnModule>;
    if (typeof module.Server !== 'function' || typeof module.Client !== 'function') {
      throw new Error('dist/index.js does not export Server and Client');
    }
    return module as PnModule;
  })();
  return loaded;
}

function createServer(hooks: ServerHooks, security: Security): BenchServer {
  let server: PnServer | null = null;
  return {
    async start() {
      const { Server } = await loadPnetwork();
      const { key, publicKey } = benchTls();
      const keys = { privateKey: key, publicKey };
      const created = new Server({ host: HOST, port: 0, ...(security === 'tls' ? { tls: { keys } } : security === 'channel' ? { encryption: { keys } } : {}) });
      server = created;
      for (const action of hooks.oneWay) {
        created.bindAction(action, (data) => {
          hooks.onMessage(action, data);
        });
      }
      for (const action of hooks.requests) created.bindAction(action, (data) => hooks.onRequest(action, data));
      const onStream = hooks.onStream?.bind(hooks);
      if (onStream !== undefined) {
        for (const action of hooks.streams ?? []) {
          created.bindAction(action, async function* (data) {
            yield* onStream(action, data);
          });
        }
      }
      await created.start();
      return created.address().port;
    },
    clientCount: () => server?.clients.size ?? 0,
    broadcast: (action, data) => {
      if (!server) return Promise.reject(new Error('server not started'));
      return server.broadcast(action, data);
    },
    stop: async () => {
      await server?.stop();
    },
  };
}

async function connect(port: number, options: ConnectOptions, security: Security): Promise<BenchConnection> {
  const { Client } = await loadPnetwork();
  const pin = { serverFingerprint: benchTls().fingerprint };
  const client = new Client({ host: HOST, port, reconnect: false, ...(security === 'tls' ? { tls: pin } : security === 'channel' ? { encryption: pin } : {}) });
  for (const action of options.pushActions) {
    client.bindAction(action, (data) => {
      options.onPush(action, data);
    });
  }
  await client.start();
  let inFlight = 0;
  let failure: unknown = null;
  let resume: (() => void) | null = null;
  const settled = (): void => {
    inFlight--;
    if (resume !== null && inFlight <= RESUME_AT) {
      const wake = resume;
      resume = null;
      wake();
    }
  };
  return {
    send(action, data) {
      if (failure !== null) return Promise.reject(failure instanceof Error ? failure : new Error(String(failure)));
      inFlight++;
      client.sendPacket(action, data).then(settled, (error: unknown) => {
        failure ??= error;
        settled();
      });
      if (inFlight < MAX_IN_FLIGHT) return undefined;
      return new Promise<void>((done) => {
        resume = done;
      }).then(() => {
        if (failure !== null) throw failure instanceof Error ? failure : new Error(String(failure));
      });
    },
    request: (action, data) => client.request(action, data),
    stream: (action, data, onValue) =>
      new Promise<void>((resolve, reject) => {
        client.stream(action, data).subscribe({ next: onValue, error: reject, complete: resolve });
      }),
    close: () => {
      client.stop().catch(() => undefined);
    },
  };
}

/** pnetwork. */
export const system: BenchSystem = { name: 'pnetwork', createServer: (hooks) => createServer(hooks, 'plain'), connect: (port, options) => connect(port, options, 'plain') };

/** pnetwork over TLS 1.3, pinning the bench key (the same key as the node:tls floor's). */
export const tlsSystem: BenchSystem = {
  name: 'pnetwork-tls',
  createServer: (hooks) => createServer(hooks, 'tls'),
  connect: (port, options) => connect(port, options, 'tls'),
};

/** pnetwork over its secure channel, pinning the bench key (the same RSA-2048 key as the TLS systems'). */
export const channelSystem: BenchSystem = {
  name: 'pnetwork-channel',
  createServer: (hooks) => createServer(hooks, 'channel'),
  connect: (port, options) => connect(port, options, 'channel'),
};

/** The library's sealed-packet functions, for the in-process sealed-packet throughput case. */
export async function sealedPackets(): Promise<Pick<PnModule, 'encryptPacket' | 'decryptPacket'>> {
  const module = await loadPnetwork();
  if (typeof module.encryptPacket !== 'function') throw new Error('dist/index.js does not export encryptPacket');
  return module;
}
