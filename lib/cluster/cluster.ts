/**
 * The cluster layer: turns any {@link Adapter} (a bus) into several servers that act as one. It keeps
 * the membership (heartbeats with a deadline), answers the other nodes' questions about its own
 * clients, and asks them about theirs: broadcasts, directed sends and requests by public connection
 * id, and the client list. The server owns one and feeds it its local clients through {@link LocalNode}.
 * @module
 */
import { randomHexId } from '../random-id.js';
import { interval, Subject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { AdapterDownError, ClusterTimeoutError, ConnectionClosedError, PacketError, PnetworkError, PublishError, UnknownClientError } from '../errors.js';
import type { Adapter, AdapterStatus } from '../adapters/adapter.js';
import { errorFromWire, errorToWire } from './wire-errors.js';
import { parseClusterMessage, type ClusterClient, type ClusterMessage, type NodeInfo } from './messages.js';
import { MAX_DELAY_MS } from '../timing.js';
import { EngineDeadlines } from './engine-deadlines.js';

/** One client of this node, as the cluster layer uses it. */
export interface LocalClient {
  readonly id: string;
  readonly remoteAddress: string;
  readonly connectedAt: number;
  sendPacket(action: string, data: unknown): Promise<void>;
  request(action: string, data: unknown, options: { timeoutMs: number }): Promise<unknown>;
}

/** What the cluster layer needs from its server. */
export interface LocalNode {
  /** Where the server listens, `host:port`. */
  address(): string;
  /** The local client with this public id. */
  find(id: string): LocalClient | undefined;
  /** Every local client (after its handshake). */
  clients(): Iterable<LocalClient>;
  /** The rooms a local client is in. */
  roomsOf(client: LocalClient): Iterable<string>;
  /** Delivers a broadcast from another node to the local clients in `rooms` (all when null) and none of `except`. */
  deliver(action: string, data: unknown, rooms: readonly string[] | null, except: readonly string[]): void;
  /** Reports a failure on the server's error$. */
  report(error: PnetworkError): void;
}

/** Timings and names of a cluster; the server fills them from its options. */
export interface ClusterSettings {
  /** Prefix of the channels, so that several clusters can share one engine. */
  readonly name: string;
  readonly heartbeatIntervalMs: number;
  /** A node not heard from for this long leaves the view. */
  readonly nodeTimeoutMs: number;
  /** How long another node has to answer a question. */
  readonly timeoutMs: number;
  readonly scheduler: SchedulerLike;
}

/** A node as the view shows it. */
export interface ClusterNode extends NodeInfo {
  /** The node's id. */
  readonly id: string;
  /** True for the node that made the view. */
  readonly self: boolean;
  /** When it was last heard from, in ms since the epoch (now, for this node). */
  readonly lastSeen: number;
}

/** The adapter's state, as `cluster.status$` tells it. */
export type ClusterStatus = AdapterStatus & { readonly adapter: string; readonly at: number };

interface Member {
  info: NodeInfo;
  lastSeen: number;
}

/** A question waiting for its answers. */
interface Question {
  readonly operation: string;
  /** The nodes still to answer. */
  readonly waiting: Set<string>;
  /** The client asked about, for directed questions. */
  readonly target?: string;
  answer(from: string, found: boolean, value: unknown, error: Error | null): void;
  /**
   * Every node asked has answered or left, or the time is up (`late` names the nodes that did not
   * answer), or the cluster is stopping (`abort`).
   */
  finish(late: readonly string[], abort?: PnetworkError): void;
  timer: Subscription | null;
}

/** Client ids whose node is remembered, so that later sends go to that node alone. */
const MAX_LOCATED = 10_000;

/** One node of a cluster. */
export class Cluster {
  /** This node's id: random, new for each server start. */
  readonly node = randomHexId(8);
  private readonly members = new Map<string, Member>();
  private readonly located = new Map<string, string>();
  private readonly questions = new Map<number, Question>();
  private readonly statuses = new Subject<ClusterStatus>();
  private nextRid = 1;
  private ticker: Subscription | null = null;
  private startedAt = 0;
  private current: ClusterStatus | null = null;
  private outages = 0;

  /** The adapter's state changes: down (with the error), up again (`reconnected` true). */
  readonly status$: Observable<ClusterStatus> = this.statuses.asObservable();

  /** Bounds what this node waits on from its engine: a publish, the close. */
  private readonly deadlines: EngineDeadlines;

  /** @internal Made by Server, which feeds it its clients. */
  constructor(
    private readonly adapter: Adapter,
    private readonly local: LocalNode,
    private readonly settings: ClusterSettings,
  ) {
    this.deadlines = new EngineDeadlines(settings.scheduler, settings.timeoutMs);
  }

  /** The adapter's kind: `memory`, `redis`, `nats`. */
  get kind(): string {
    return this.adapter.kind;
  }

  /** True when no other node can exist (the default in-memory adapter): nothing is opened or published. */
  get solitary(): boolean {
    return this.adapter.solitary === true;
  }

  /** The adapter's current state, null before start and after stop. */
  get status(): ClusterStatus | null {
    return this.current;
  }

  /** How many outages the adapter has had (and reconnected from, or is in) since start. */
  get outageCount(): number {
    return this.outages;
  }

  private get allChannel(): string {
    return `${this.settings.name}.all`;
  }

  private nodeChannel(node: string): string {
    return `${this.settings.name}.node.${node}`;
  }

  /** Connects the adapter, announces this node and starts its heartbeat. Rejects with AdapterDownError when the engine cannot be reached. */
  async start(): Promise<void> {
    const now = this.settings.scheduler.now();
    this.startedAt = now;
    if (this.solitary) {
      this.current = { state: 'up', reconnected: false, adapter: this.adapter.kind, at: now };
      return;
    }
    try {
      // An engine that accepts the connection and never answers (a frozen process) fails the start in
      // bounded time, as one that refuses it does.
      const opening = this.adapter.open([this.allChannel, this.nodeChannel(this.node)], {
        message: (_channel, text) => this.receive(text),
        status: (status) => this.onStatus(status),
      });
      const deadline = new EngineDeadlines(this.settings.scheduler, this.settings.nodeTimeoutMs);
      try {
        await deadline.watch(opening, () => new Error(`the engine did not answer within ${this.settings.nodeTimeoutMs} ms (clusterNodeTimeoutMs)`));
      } finally {
        deadline.clear();
      }
    } catch (err) {
      await this.closeAdapter();
      throw new AdapterDownError(this.adapter.kind, err, 'start');
    }
    this.current = { state: 'up', reconnected: false, adapter: this.adapter.kind, at: now };
    this.announce('hello');
    this.ticker = interval(this.settings.heartbeatIntervalMs, this.settings.scheduler).subscribe(() => this.tick());
  }

  /** Says goodbye, fails every open question with ConnectionClosedError, and disconnects. */
  async stop(): Promise<void> {
    this.current = null;
    if (this.solitary) return;
    this.ticker?.unsubscribe();
    this.ticker = null;
    await this.publish(this.allChannel, { t: 'bye', from: this.node }).catch(() => undefined);
    const stopping = new ConnectionClosedError('server stopping');
    for (const [rid, question] of this.questions) this.close(rid, question, [], stopping);
    this.members.clear();
    await this.closeAdapter();
    this.deadlines.clear();
  }

  /** Closes the adapter, waiting at most `clusterTimeoutMs` for an engine that does not answer. */
  private async closeAdapter(): Promise<void> {
    await this.deadlines.watch(this.adapter.close(), () => new Error('the engine did not answer the close')).catch(() => undefined);
  }

  /** Every node in the view, this one first. */
  nodes(): ClusterNode[] {
    const now = this.settings.scheduler.now();
    const self: ClusterNode = { id: this.node, self: true, lastSeen: now, ...this.info() };
    return [self, ...[...this.members].map(([id, member]) => ({ id, self: false, lastSeen: member.lastSeen, ...member.info }))];
  }

  /** Hands a broadcast to every other node; resolves once the engine has it. */
  broadcast(action: string, data: unknown, rooms: readonly string[] | null, except: readonly string[]): Promise<void> {
    if (this.solitary) return Promise.resolve();
    return this.publish(this.allChannel, { t: 'bc', from: this.node, action, data, rooms, except }).catch((err: unknown) => this.failed(err));
  }

  /** Sends to a client of another node; resolves once that node has handed it to the socket. */
  async sendTo(id: string, action: string, data: unknown): Promise<void> {
    await this.ask('sendTo', id, this.settings.timeoutMs, (rid) => ({ t: 'send', from: this.node, rid, to: id, action, data }));
  }

  /** Sends a request to a client of another node and resolves with the client's reply. */
  requestClient(id: string, action: string, data: unknown, timeoutMs: number): Promise<unknown> {
    return this.ask('requestClient', id, Math.min(timeoutMs + this.settings.timeoutMs, MAX_DELAY_MS), (rid) => ({ t: 'req', from: this.node, rid, to: id, action, data, timeoutMs }));
  }

  /**
   * The clients of the other nodes. A node that does not answer within the timeout is left out and
   * reported on error$ with ClusterTimeoutError.
   */
  fetchRemoteClients(): Promise<ClusterClient[]> {
    const waiting = new Set(this.members.keys());
    if (waiting.size === 0) return Promise.resolve([]);
    return new Promise<ClusterClient[]>((resolve, reject) => {
      const found: ClusterClient[] = [];
      const rid = this.nextRid++;
      this.questions.set(rid, {
        operation: 'fetchClients',
        waiting,
        timer: null,
        answer: (_from, _found, value) => {
          if (Array.isArray(value)) found.push(...(value as ClusterClient[]));
        },
        finish: (late, abort) => {
          if (abort) return reject(abort);
          for (const node of late) this.local.report(new ClusterTimeoutError('fetchClients', node, this.settings.timeoutMs));
          resolve(found);
        },
      });
      this.arm(rid);
      this.publish(this.allChannel, { t: 'list', from: this.node, rid }).catch((err: unknown) => {
        this.questions.get(rid)?.timer?.unsubscribe();
        this.questions.delete(rid);
        this.failed(err).catch(reject);
      });
    });
  }

  /** This node's clients in the cluster's form. */
  localClients(): ClusterClient[] {
    return [...this.local.clients()].map((client) => ({
      id: client.id,
      node: this.node,
      address: client.remoteAddress,
      rooms: [...this.local.roomsOf(client)],
      connectedAt: client.connectedAt,
    }));
  }

  /** A directed question: to the node known to hold `id`, or else to every node, the holder answering. */
  private ask(operation: string, id: string, waitMs: number, build: (rid: number) => ClusterMessage): Promise<unknown> {
    const holder = this.located.get(id);
    const direct = holder !== undefined && this.members.has(holder);
    const waiting = new Set(direct ? [holder] : this.members.keys());
    if (waiting.size === 0) return Promise.reject(new UnknownClientError(id));
    return new Promise((resolve, reject) => {
      const rid = this.nextRid++;
      let settled = false;
      this.questions.set(rid, {
        operation,
        waiting,
        target: id,
        timer: null,
        answer: (from, found, value, error) => {
          if (!found || settled) return;
          settled = true;
          this.remember(id, from);
          this.questions.get(rid)?.timer?.unsubscribe();
          this.questions.delete(rid);
          if (error) reject(error);
          else resolve(value);
        },
        finish: (late, abort) => {
          if (settled) return;
          settled = true;
          if (direct) this.located.delete(id);
          reject(abort ?? (late.length > 0 ? new ClusterTimeoutError(operation, late.join(', '), waitMs) : new UnknownClientError(id)));
        },
      });
      this.arm(rid, waitMs);
      this.publish(direct ? this.nodeChannel(holder) : this.allChannel, build(rid)).catch((err: unknown) => {
        settled = true;
        this.questions.get(rid)?.timer?.unsubscribe();
        this.questions.delete(rid);
        this.failed(err).catch(reject);
      });
    });
  }

  private arm(rid: number, waitMs = this.settings.timeoutMs): void {
    const question = this.questions.get(rid);
    if (!question) return;
    question.timer = this.settings.scheduler.schedule(() => {
      const open = this.questions.get(rid);
      if (open) this.close(rid, open, [...open.waiting]);
    }, waitMs);
  }

  private close(rid: number, question: Question, late: readonly string[], abort?: PnetworkError): void {
    question.timer?.unsubscribe();
    this.questions.delete(rid);
    question.finish(late, abort);
  }

  private remember(id: string, node: string): void {
    this.located.delete(id);
    this.located.set(id, node);
    if (this.located.size > MAX_LOCATED) this.located.delete(this.located.keys().next().value as string);
  }

  private receive(text: string): void {
    const message = parseClusterMessage(text);
    if (message === null || message.from === this.node) return;
    const from = message.from;
    switch (message.t) {
      case 'hello':
        this.seen(from, message.info);
        // Answer at once, to the newcomer only, so that its view is complete without waiting a beat.
        this.publish(this.nodeChannel(from), { t: 'hb', from: this.node, info: this.info() }).catch(() => undefined);
        return;
      case 'hb':
        this.seen(from, message.info);
        return;
      case 'bye':
        this.forget(from);
        return;
      case 'bc':
        this.local.deliver(message.action, message.data, message.rooms, message.except);
        return;
      case 'send':
      case 'req':
        this.serve(message);
        return;
      case 'list':
        this.reply(from, message.rid, true, this.localClients());
        return;
      case 'res': {
        const question = this.questions.get(message.rid);
        if (!question) return;
        question.answer(from, message.found, message.value, message.error ? errorFromWire(message.error) : null);
        question.waiting.delete(from);
        if (question.waiting.size === 0 && this.questions.has(message.rid)) this.close(message.rid, question, []);
        return;
      }
    }
  }

  /** Another node's directed send or request, for a client that may be ours. */
  private serve(message: Extract<ClusterMessage, { t: 'send' | 'req' }>): void {
    const client = this.local.find(message.to);
    if (!client) {
      this.reply(message.from, message.rid, false);
      return;
    }
    const done = message.t === 'send' ? client.sendPacket(message.action, message.data) : client.request(message.action, message.data, { timeoutMs: message.timeoutMs });
    done.then(
      (value) => this.reply(message.from, message.rid, true, message.t === 'req' ? value : null),
      (err: unknown) => this.reply(message.from, message.rid, true, undefined, err),
    );
  }

  private reply(to: string, rid: number, found: boolean, value?: unknown, error?: unknown): void {
    const message: ClusterMessage = { t: 'res', from: this.node, rid, found, ...(value !== undefined ? { value } : {}), ...(error !== undefined ? { error: errorToWire(error) } : {}) };
    // The asking node times out and says so; this node says why its answer did not go.
    this.publish(this.nodeChannel(to), message).catch((err: unknown) => this.local.report(err as PnetworkError));
  }

  private seen(node: string, info: NodeInfo): void {
    this.members.set(node, { info, lastSeen: this.settings.scheduler.now() });
  }

  /** A node left (said bye, or its heartbeats stopped): it answers nothing more. */
  private forget(node: string): void {
    if (!this.members.delete(node)) return;
    for (const [id, holder] of this.located) if (holder === node) this.located.delete(id);
    for (const [rid, question] of this.questions) {
      if (question.waiting.delete(node) && question.waiting.size === 0) this.close(rid, question, []);
    }
  }

  private tick(): void {
    const now = this.settings.scheduler.now();
    for (const [node, member] of this.members) if (now - member.lastSeen > this.settings.nodeTimeoutMs) this.forget(node);
    if (this.current?.state === 'up') this.announce('hb');
  }

  private announce(t: 'hb' | 'hello'): void {
    // A failed heartbeat means the engine is down, which onStatus has reported once already.
    this.publish(this.allChannel, { t, from: this.node, info: this.info() }).catch(() => undefined);
  }

  private info(): NodeInfo {
    let clients = 0;
    for (const _ of this.local.clients()) clients++;
    return { address: this.local.address(), clients, startedAt: this.startedAt };
  }

  private onStatus(status: AdapterStatus): void {
    this.current = { ...status, adapter: this.adapter.kind, at: this.settings.scheduler.now() };
    if (status.state === 'down') {
      this.outages++;
      this.local.report(new AdapterDownError(this.adapter.kind, status.error));
    } else {
      // Back: ask everyone to say who they are, rather than wait a heartbeat.
      this.announce('hello');
    }
    this.statuses.next(this.current);
  }

  /**
   * A user's operation could not be published: it is reported on error$ as well as rejected, so that
   * a caller who does not await it still hears of it.
   */
  private failed(err: unknown): Promise<never> {
    if (err instanceof PnetworkError) this.local.report(err);
    return Promise.reject(err);
  }

  private publish(channel: string, message: ClusterMessage): Promise<void> {
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (err) {
      return Promise.reject(new PacketError('ERR_PACKET_JSON', `data cannot be sent to other nodes: ${(err as Error).message}`));
    }
    return this.deadlines.watch(this.adapter.publish(channel, text), () => new PublishError(this.adapter.kind, new Error(`the engine did not take the message within ${this.settings.timeoutMs} ms (clusterTimeoutMs)`)));
  }
}
