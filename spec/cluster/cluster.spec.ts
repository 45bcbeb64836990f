import { expect } from 'chai';
import type { TestScheduler } from 'rxjs/testing';
import type { PnetworkError} from '../../lib/errors.js';
import { AdapterDownError, ClusterTimeoutError, ConnectionClosedError, PublishError, RemoteError, UnknownClientError } from '../../lib/errors.js';
import type { Adapter } from '../../lib/adapters/adapter.js';
import { Cluster, type LocalClient, type LocalNode } from '../../lib/cluster/cluster.js';
import { MemoryBus, memoryAdapter } from '../../lib/adapters/memory.js';
import { testScheduler } from '../helpers/scheduler.js';
import { flushMicrotasks } from '../helpers/wait.js';

/** A node's clients, recording what they are sent. */
class FakeNode implements LocalNode {
  readonly clientsById = new Map<string, LocalClient & { got: Array<[string, unknown]> }>();
  readonly delivered: Array<{ action: string; data: unknown; rooms: readonly string[] | null; except: readonly string[] }> = [];
  readonly reported: PnetworkError[] = [];
  readonly rooms = new Map<string, string[]>();

  constructor(private readonly where: string) {}

  add(id: string, rooms: string[] = [], answer: (action: string, data: unknown) => Promise<unknown> = async (_a, data) => data): void {
    const got: Array<[string, unknown]> = [];
    this.rooms.set(id, rooms);
    this.clientsById.set(id, {
      id,
      remoteAddress: `127.0.0.1:${1000 + this.clientsById.size}`,
      connectedAt: 1,
      got,
      sendPacket: (action, data) => {
        got.push([action, data]);
        return Promise.resolve();
      },
      request: (action, data) => answer(action, data),
    });
  }

  address(): string {
    return this.where;
  }
  find(id: string): LocalClient | undefined {
    return this.clientsById.get(id);
  }
  clients(): Iterable<LocalClient> {
    return this.clientsById.values();
  }
  roomsOf(client: LocalClient): Iterable<string> {
    return this.rooms.get(client.id) ?? [];
  }
  deliver(action: string, data: unknown, rooms: readonly string[] | null, except: readonly string[]): void {
    this.delivered.push({ action, data, rooms, except });
  }
  report(error: PnetworkError): void {
    this.reported.push(error);
  }
}

/** An adapter that can be made to fall silent, as a killed process does: it then neither sends nor hears. */
function cuttable(inner: Adapter): Adapter & { cut(): void } {
  let cut = false;
  return {
    kind: inner.kind,
    open: (channels, listener) =>
      inner.open(channels, { message: (channel, text) => (cut ? undefined : listener.message(channel, text)), status: (status) => listener.status(status) }),
    publish: (channel, message) => (cut ? Promise.resolve() : inner.publish(channel, message)),
    close: () => inner.close(),
    cut: () => (cut = true),
  };
}

const SETTINGS = { name: 'spec', heartbeatIntervalMs: 1_000, nodeTimeoutMs: 3_000, timeoutMs: 500 };

describe('cluster/Cluster', () => {
  let scheduler: TestScheduler;
  let bus: MemoryBus;
  const started: Cluster[] = [];

  beforeEach(() => {
    scheduler = testScheduler();
    bus = new MemoryBus();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((cluster) => cluster.stop()));
  });

  async function node(where: string, adapter: Adapter = memoryAdapter({ bus })): Promise<{ cluster: Cluster; local: FakeNode }> {
    const local = new FakeNode(where);
    const cluster = new Cluster(adapter, local, { ...SETTINGS, scheduler });
    await cluster.start();
    started.push(cluster);
    return { cluster, local };
  }

  /** Runs virtual time up to `frame`, leaving later actions scheduled. */
  function advanceTo(frame: number): void {
    scheduler.maxFrames = frame;
    scheduler.flush();
  }

  /** Lets the bus deliver and the answers come back. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await flushMicrotasks();
  }

  it('learns of the other nodes at once through hello, each with its address and client count', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    b.local.add('x');
    await settle();
    expect(a.cluster.nodes().map((n) => n.id)).to.deep.equal([a.cluster.node, b.cluster.node]);
    expect(b.cluster.nodes().map((n) => [n.id, n.address])).to.deep.equal([
      [b.cluster.node, 'b:1'],
      [a.cluster.node, 'a:1'],
    ]);
  });

  it('skips messages on its channels that are not well-formed messages of its own, and goes on working', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    await settle();
    const foreign = [
      { t: 'bc', from: 'x', action: 'news', data: 1 },
      { t: 'bc', from: 'x', action: 'news', data: 1, rooms: null, except: null },
      { t: 'bc', from: 'x', action: 7, data: 1, rooms: ['r'], except: [] },
      { t: 'bc', from: 'x', action: 'news', data: 1, rooms: [1], except: [] },
      { t: 'hb', from: 'x' },
      { t: 'hello', from: 'x', info: null },
      { t: 'send', from: 'x', to: 'y', action: 'news' },
      { t: 'req', from: 'x', rid: 1, to: 'y', action: 'news', timeoutMs: 'soon' },
      { t: 'list', from: 'x' },
      { t: 'res', from: 'x', rid: 'one', found: true },
      { t: 'res', from: 'x', rid: 1, found: false, error: 'bad' },
    ];
    for (const message of foreign) bus.publish('spec.all', JSON.stringify(message));
    await settle();
    expect(b.local.delivered, 'nothing foreign is delivered').to.deep.equal([]);
    expect(b.cluster.nodes().map((n) => n.id), 'no node is made up from them').to.deep.equal([b.cluster.node, a.cluster.node]);
    await a.cluster.broadcast('news', { n: 1 }, null, []);
    await settle();
    expect(b.local.delivered).to.deep.equal([{ action: 'news', data: { n: 1 }, rooms: null, except: [] }]);
  });

  it('hands a broadcast to every other node, with rooms and exceptions, but not to itself', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    const c = await node('c:1');
    await settle();
    await a.cluster.broadcast('news', { n: 1 }, ['lobby'], ['muted']);
    await settle();
    expect(a.local.delivered).to.deep.equal([]);
    for (const other of [b, c]) expect(other.local.delivered).to.deep.equal([{ action: 'news', data: { n: 1 }, rooms: ['lobby'], except: ['muted'] }]);
  });

  it('sends to a client of another node by id, and then goes to that node alone', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    const c = await node('c:1');
    c.local.add('x');
    await settle();
    await a.cluster.sendTo('x', 'one', 1);
    await a.cluster.sendTo('x', 'two', 2);
    expect(c.local.clientsById.get('x')!.got).to.deep.equal([
      ['one', 1],
      ['two', 2],
    ]);
    expect(b.local.reported).to.deep.equal([]);
  });

  it('rejects a send to an id no node has with UnknownClientError, once every node has said so', async () => {
    const a = await node('a:1');
    await node('b:1');
    await settle();
    const err = await a.cluster.sendTo('nobody', 'x', null).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnknownClientError);
    expect((err as UnknownClientError).code).to.equal('ERR_UNKNOWN_CLIENT');
  });

  it('rejects a send at once with UnknownClientError when there is no other node', async () => {
    const a = await node('a:1');
    const err = await a.cluster.sendTo('nobody', 'x', null).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnknownClientError);
  });

  it('answers a request across nodes with the reply, and rebuilds a client error as RemoteError', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    b.local.add('x', [], async (action, data) => {
      if (action === 'fail') throw new RemoteError('APP_NO', 'not today');
      return { echo: data };
    });
    await settle();
    expect(await a.cluster.requestClient('x', 'echo', 5, 1_000)).to.deep.equal({ echo: 5 });
    const err = await a.cluster.requestClient('x', 'fail', null, 1_000).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RemoteError);
    expect(err).to.include({ remoteCode: 'APP_NO', message: 'not today' });
  });

  it('lists the clients of every node, without tokens', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    a.local.add('x', ['lobby']);
    b.local.add('y');
    await settle();
    const all = [...a.cluster.localClients(), ...(await a.cluster.fetchRemoteClients())];
    expect(all.map((client) => [client.id, client.node, client.rooms])).to.deep.equal([
      ['x', a.cluster.node, ['lobby']],
      ['y', b.cluster.node, []],
    ]);
    expect(Object.keys(all[0]!).sort()).to.deep.equal(['address', 'connectedAt', 'id', 'node', 'rooms']);
  });

  it('drops a node that stops its heartbeats after nodeTimeoutMs, and forgets where its clients were', async () => {
    const a = await node('a:1');
    const adapter = cuttable(memoryAdapter({ bus }));
    const b = await node('b:1', adapter);
    b.local.add('x');
    await settle();
    await a.cluster.sendTo('x', 'hi', null);
    // b goes silent without saying bye, as a killed process does.
    adapter.cut();
    let now = 0;
    while (a.cluster.nodes().length > 1 && now < 10 * SETTINGS.nodeTimeoutMs) {
      now += SETTINGS.heartbeatIntervalMs;
      advanceTo(now);
      await settle();
    }
    expect(a.cluster.nodes().map((n) => n.id)).to.deep.equal([a.cluster.node]);
    expect(now).to.be.at.most(SETTINGS.nodeTimeoutMs + 2 * SETTINGS.heartbeatIntervalMs);
    const err = await a.cluster.sendTo('x', 'hi', null).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnknownClientError);
  });

  it('an engine that stops answering without closing the link: a broadcast fails with PublishError after timeoutMs, and stop() still ends', async () => {
    const inner = memoryAdapter({ bus });
    let frozen = false;
    const never = new Promise<void>(() => undefined);
    const adapter: Adapter = {
      kind: 'memory',
      open: (channels, listener) => inner.open(channels, listener),
      publish: (channel, message) => (frozen ? never : inner.publish(channel, message)),
      close: () => (frozen ? never : inner.close()),
    };
    const a = await node('a:1', adapter);
    await node('b:1');
    await settle();
    frozen = true;
    let outcome: unknown = 'pending';
    void a.cluster.broadcast('news', 1, null, []).catch((err: unknown) => (outcome = err));
    advanceTo(SETTINGS.timeoutMs - 1);
    await settle();
    expect(outcome, 'one frame before clusterTimeoutMs').to.equal('pending');
    advanceTo(SETTINGS.timeoutMs);
    await settle();
    expect(outcome).to.be.instanceOf(PublishError);
    started.splice(started.indexOf(a.cluster), 1);
    let stopped = false;
    void a.cluster.stop().then(() => (stopped = true));
    // The bye, then the close: each waits clusterTimeoutMs at most.
    for (let frame = SETTINGS.timeoutMs; frame <= 4 * SETTINGS.timeoutMs && !stopped; frame += SETTINGS.timeoutMs) {
      advanceTo(frame + SETTINGS.timeoutMs);
      await settle();
    }
    expect(stopped, 'stop() resolved').to.equal(true);
  });

  it('a start whose engine never answers fails with AdapterDownError after nodeTimeoutMs', async () => {
    const local = new FakeNode('a:1');
    const adapter: Adapter = { kind: 'memory', open: () => new Promise(() => undefined), publish: () => Promise.resolve(), close: () => Promise.resolve() };
    const cluster = new Cluster(adapter, local, { ...SETTINGS, scheduler });
    let outcome: unknown = 'pending';
    void cluster.start().catch((err: unknown) => (outcome = err));
    advanceTo(SETTINGS.nodeTimeoutMs);
    await settle();
    expect(outcome).to.be.instanceOf(AdapterDownError);
  });

  it('rejects a directed send with ClusterTimeoutError when the holder does not answer in time', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    b.local.add('x');
    await settle();
    // The holder is still in the view but never answers.
    (b.local.clientsById.get('x') as { sendPacket: LocalClient['sendPacket'] }).sendPacket = () => new Promise(() => undefined);
    const pending = a.cluster.sendTo('x', 'hi', null).catch((e: unknown) => e);
    await settle();
    advanceTo(SETTINGS.timeoutMs);
    const err = await pending;
    expect(err).to.be.instanceOf(ClusterTimeoutError);
    expect(err).to.include({ code: 'ERR_CLUSTER_TIMEOUT', node: b.cluster.node, operation: 'sendTo' });
  });

  it('rejects what is still waiting with ConnectionClosedError on stop', async () => {
    const a = await node('a:1');
    const b = await node('b:1');
    b.local.add('x', [], () => new Promise(() => undefined));
    await settle();
    const pending = a.cluster.requestClient('x', 'slow', null, 10_000).catch((e: unknown) => e);
    await settle();
    await a.cluster.stop();
    started.splice(started.indexOf(a.cluster), 1);
    expect(await pending).to.be.instanceOf(ConnectionClosedError);
  });

  it('rejects a broadcast the adapter cannot publish with its PublishError', async () => {
    const adapter = memoryAdapter({ bus });
    const a = await node('a:1', adapter);
    await adapter.close();
    const err = await a.cluster.broadcast('x', null, null, []).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PublishError);
  });
});
