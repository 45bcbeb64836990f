// Server processes of a cluster for specs: each a child on 127.0.0.1, port 0, driven over IPC, with
// pnetwork clients connected to it from the spec's process.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client } from '../../lib/client.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { childEnv } from './child-env.js';

const NODE_SCRIPT = fileURLToPath(new URL('../fixtures/cluster-node.ts', import.meta.url));

/** What a failed command reports. */
export interface CommandError {
  code: string;
  name: string;
  message: string;
}

/** A client of one node, recording every packet it receives. */
export interface NodeClient {
  client: Client;
  /** Its public id on the server (`connection.id` there). */
  id: string;
  received: Packet[];
}

/** One server process. */
export class ClusterNode {
  private nextRid = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: CommandError): void }>();
  readonly clients: NodeClient[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly node: string,
  ) {
    child.on('message', (message: { rid?: number; ok?: boolean; value?: unknown; error?: CommandError }) => {
      if (message.rid === undefined) return;
      const waiter = this.waiting.get(message.rid);
      this.waiting.delete(message.rid);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(message.error!);
    });
    child.once('exit', () => {
      for (const waiter of this.waiting.values()) waiter.reject({ code: 'EXITED', name: 'Error', message: 'node exited' });
      this.waiting.clear();
    });
  }

  /** Starts a node on `adapter` at `url`; resolves once it listens and has joined the cluster. */
  static start(adapter: 'redis' | 'nats', url: string, clusterName: string): Promise<ClusterNode> {
    const child = fork(NODE_SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      env: childEnv({ ADAPTER: adapter, ENGINE_URL: url, CLUSTER_NAME: clusterName }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('cluster node did not start within 20 s'));
      }, 20_000);
      child.once('message', (message: { ready?: boolean; port?: number; node?: string; error?: unknown }) => {
        clearTimeout(timer);
        if (message.ready) resolve(new ClusterNode(child, message.port!, message.node!));
        else reject(new Error(`cluster node failed to start: ${JSON.stringify(message.error)}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cluster node exited with ${code} before it was ready`));
      });
    });
  }

  /** Runs a command in the node; rejects with the node's error (code, name, message). */
  run<T = unknown>(cmd: string, ...args: unknown[]): Promise<T> {
    const rid = this.nextRid++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(rid, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ rid, cmd, args });
    });
  }

  /** Connects `count` clients to this node and learns their public ids. */
  async connect(count: number): Promise<NodeClient[]> {
    const made: NodeClient[] = [];
    for (let i = 0; i < count; i++) {
      const client = new Client({ port: this.port, reconnect: false });
      const received: Packet[] = [];
      client.packets$.subscribe(({ packet }) => received.push(packet));
      await client.start();
      const id = await client.request('whoami', null);
      made.push({ client, id: id as string, received });
    }
    this.clients.push(...made);
    return made;
  }

  /** Stops the clients, then the node (gracefully, or with SIGKILL when it is already gone). */
  async close(): Promise<void> {
    await Promise.all(this.clients.splice(0).map(({ client }) => client.stop()));
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.run('stop').catch(() => this.child.kill('SIGKILL'));
    await exited;
  }

  /** Kills the process at once, as a crash would. */
  async kill(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** A fresh cluster name, so that specs sharing one engine never hear each other. */
export function clusterName(): string {
  return `spec-${randomUUID()}`;
}
