// The parent's side of spec/fixtures/probe-server.ts: a server in a child process, driven over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import type { ServerOptions } from '../../lib/index.js';
import { childEnv } from './child-env.js';
import { withDeadline } from './wait.js';

/** A command to the probe server. */
export type ProbeCommand = { type: 'status' } | { type: 'gc' } | { type: 'advance'; ms: number } | ({ type: 'broadcast' } & BroadcastPlan);

/** What a broadcast command sends: packets {n, pad} numbered 1…count. */
export interface BroadcastPlan {
  count: number;
  /** Padding per packet, in bytes. */
  bytes: number;
  /** The action sent; `news` unless given. */
  action?: string;
  /** Sent to this room's members only instead of to every client. */
  room?: string;
  /** Sent all at once (nothing awaited in between) instead of each awaited before the next. */
  together?: boolean;
}

/** A command with the id its reply will carry. */
export type ProbeRequest = ProbeCommand & { id: number };

/** The probe server's state, sent in answer to every command. */
export interface ProbeReply {
  id: number;
  port: number;
  /** Bytes its connections have read, closed ones included. */
  bytesIn: number;
  /** Registered (handshaken) clients. */
  clients: number;
  /** Connections held, registered or not. */
  open: number;
  /** Timers waiting on its virtual clock. */
  pending: number;
  /** How often each code was reported on error$. */
  codes: Record<string, number>;
  /** Uncaught exceptions, unhandled rejections and untyped errors, as text. */
  faults: string[];
  heapUsed: number;
  arrayBuffers: number;
  /** The highest heapUsed sampled since the start or the last GC command. */
  peakHeapUsed: number;
  /** `seq` packets handled, and the first few that came out of order or twice. */
  seqReceived: number;
  seqViolations: string[];
  /** After a broadcast command: how many clients each broadcast reached. */
  reached: number[];
  /** Members per room. */
  rooms: Record<string, number>;
  /** Registered connections whose send backlog is over `maxSendBufferBytes` (`writable` false). */
  unwritable: number;
  /** Why registered clients left: how often each reason (its text up to the first colon) was given. */
  disconnects: Record<string, number>;
}

const FIXTURE = new URL('../fixtures/probe-server.ts', import.meta.url).pathname;

/** A server in a child process with --expose-gc, its timers on a virtual clock the parent moves. */
export class ChildServer {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: ProbeReply) => void>();
  private stderr = '';
  /** Resolves with the exit code once the child has exited. */
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (reply: ProbeReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts the child and resolves once its server listens. `options` go to the Server (JSON only). */
  static async start(options: ServerOptions = {}): Promise<ChildServer> {
    const child = fork(FIXTURE, [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: childEnv({ PROBE_SERVER_OPTIONS: JSON.stringify(options) }),
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await withDeadline(
      new Promise<ProbeReply>((resolve, reject) => {
        child.once('message', (reply: ProbeReply) => resolve(reply));
        child.once('exit', (code) => reject(new Error(`probe server exited with ${code}: ${stderr}`)));
      }),
      30_000,
      'the probe server to start',
    );
    const server = new ChildServer(child, first.port);
    child.stderr!.on('data', (chunk: Buffer) => (server.stderr += chunk.toString()));
    return server;
  }

  /** The server's state now. */
  status(): Promise<ProbeReply> {
    return this.call({ type: 'status' });
  }

  /** Moves the server's virtual clock by `ms`; resolves with its state after the timers due have run. */
  advance(ms: number): Promise<ProbeReply> {
    return this.call({ type: 'advance', ms });
  }

  /** Forces garbage collection; resolves with the state, memory included, after it. Resets the peak. */
  gc(): Promise<ProbeReply> {
    return this.call({ type: 'gc' });
  }

  /** Broadcasts `news` {n, pad} for n = 1…count, each awaited; `bytes` of padding each. */
  broadcast(count: number, bytes = 0, ms = 60_000): Promise<ProbeReply> {
    return this.call({ type: 'broadcast', count, bytes }, ms);
  }

  /** Broadcasts as `plan` says; resolves once every send has been handed over or has failed. */
  broadcastPlan(plan: BroadcastPlan, ms = 60_000): Promise<ProbeReply> {
    return this.call({ type: 'broadcast', ...plan }, ms);
  }

  /** Disconnects; the child stops its server and must exit on its own. Resolves with its exit code. */
  async stop(ms = 20_000): Promise<number | null> {
    if (this.child.connected) this.child.disconnect();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(killer);
    return code;
  }

  /** What the child wrote to stderr. */
  get errorOutput(): string {
    return this.stderr;
  }

  private call(command: ProbeCommand, ms = 20_000): Promise<ProbeReply> {
    const id = this.nextId++;
    const reply = new Promise<ProbeReply>((resolve) => this.waiting.set(id, resolve));
    this.child.send({ id, ...command });
    return withDeadline(reply, ms, `the probe server to answer ${command.type}`);
  }
}
