// Redis and NATS for specs: the shared ones at REDIS_URL / NATS_URL, or a private one a spec starts
// (and may stop and restart) on a free port. Without an engine the suite is skipped with the reason
// printed; under CI (CI=true), where .ci/run starts both, a missing engine fails instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, connect } from 'node:net';

/** The engines the cluster specs run against. */
export type EngineKind = 'redis' | 'nats';

/** The URL specs use for each engine. */
export function engineUrl(kind: EngineKind): string {
  return kind === 'redis' ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : (process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
}

/** host and port of an engine URL. */
export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** True when something accepts TCP connections at `url` within `ms`. */
export function reachable(url: string, ms = 1_000): Promise<boolean> {
  const { host, port } = hostPort(url);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A mocha `before` body: skips the suite, saying why, when no `kind` answers at its URL; fails under CI.
 * @param what names the suite in the message
 */
export async function requireEngine(context: Mocha.Context, kind: EngineKind): Promise<void> {
  const url = engineUrl(kind);
  if (await reachable(url)) return;
  skipOrFail(context, `no ${kind} answers at ${url} (set ${kind === 'redis' ? 'REDIS_URL' : 'NATS_URL'}, or run .ci/run, which starts one)`);
}

/** Skips with a printed reason, or fails under CI where nothing may be skipped. */
export function skipOrFail(context: Mocha.Context, reason: string): never {
  if (process.env.CI) throw new Error(`required under CI: ${reason}`);
  console.log(`      SKIPPED: ${reason}`);
  context.skip();
}

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const BINARIES: Record<EngineKind, string[]> = {
  redis: ['/usr/bin/redis-server', '/usr/local/bin/redis-server'],
  nats: ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'],
};

/** The engine's server binary, or null when it is not installed. */
export function engineBinary(kind: EngineKind): string | null {
  for (const path of BINARIES[kind]) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next place
    }
  }
  return null;
}

/** A redis-server or nats-server of a spec's own, which it may stop and start again on the same port. */
export class PrivateEngine {
  private child: ChildProcess | null = null;

  private constructor(readonly kind: EngineKind, private readonly binary: string, readonly port: number) {}

  /** Starts one on a free port; null when the binary is missing. */
  static async start(kind: EngineKind): Promise<PrivateEngine | null> {
    const binary = engineBinary(kind);
    if (binary === null) return null;
    const engine = new PrivateEngine(kind, binary, await freePort());
    await engine.restart();
    return engine;
  }

  /** The URL adapters use to reach it. */
  get url(): string {
    return this.kind === 'redis' ? `redis://127.0.0.1:${this.port}` : `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) and resolves once it accepts connections. */
  async restart(): Promise<void> {
    const args =
      this.kind === 'redis'
        ? ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no']
        : ['-a', '127.0.0.1', '-p', String(this.port)];
    // The engine runs under a shell that kills it when our end of its stdin closes, so it never
    // outlives this process, even when this process is killed.
    // (A background job's stdin is /dev/null unless redirected, hence fd 3.)
    const script = `exec 3<&0; "$0" "$@" </dev/null >/dev/null 2>&1 & pid=$!; (cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) & wait $pid`;
    const child = spawn('/bin/sh', ['-c', script, this.binary, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await reachable(this.url, 200))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${this.kind} did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills it at once (SIGKILL) and resolves once the port no longer answers. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await exited;
    const deadline = Date.now() + 10_000;
    while (await reachable(this.url, 200)) {
      if (Date.now() > deadline) throw new Error(`${this.kind} on port ${this.port} did not stop`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
