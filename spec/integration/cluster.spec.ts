import { expect } from 'chai';
import { ClusterNode, clusterName, type CommandError, type NodeClient } from '../helpers/cluster-nodes.js';
import { engineUrl, PrivateEngine, requireEngine, skipOrFail, type EngineKind } from '../helpers/engines.js';
import { until } from '../helpers/wait.js';
import type { ClusterClient } from '../../lib/cluster/messages.js';

const WAIT_MS = 15_000;

for (const kind of ['redis', 'nats'] as EngineKind[]) {
  describe(`cluster over ${kind} (server processes)`, function () {
    this.timeout(60_000);
    const nodes: ClusterNode[] = [];

    before(async function () {
      await requireEngine(this, kind);
    });

    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((node) => node.close()));
    });

    /** Starts `count` nodes of one new cluster and waits until each sees all of them. */
    async function cluster(count: number, url = engineUrl(kind)): Promise<ClusterNode[]> {
      const name = clusterName();
      const made: ClusterNode[] = [];
      for (let i = 0; i < count; i++) made.push(await ClusterNode.start(kind, url, name));
      nodes.push(...made);
      await Promise.all(made.map((node) => waitForView(node, made)));
      return made;
    }

    async function waitForView(node: ClusterNode, expected: ClusterNode[]): Promise<void> {
      const want = expected.map((n) => n.node).sort();
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const seen = (await node.run<string[]>('nodes')).sort();
        if (JSON.stringify(seen) === JSON.stringify(want)) return;
        if (Date.now() > deadline) throw new Error(`node ${node.node} sees ${seen.join(',')}, expected ${want.join(',')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    const of = (client: NodeClient, action: string) => client.received.filter((packet) => packet.action === action);

    it('delivers a broadcast from one node to the clients of every node, each with its own token', async () => {
      const [a, b, c] = await cluster(3);
      const clients = [...(await a!.connect(2)), ...(await b!.connect(2)), ...(await c!.connect(2))];
      const local = await a!.run<number>('broadcast', 'news', { text: 'hello' });
      expect(local).to.equal(2);
      await until(() => clients.every((client) => of(client, 'news').length === 1), WAIT_MS, 'every client to get the broadcast');
      for (const client of clients) {
        const [packet] = of(client, 'news');
        expect(packet!.data).to.deep.equal({ text: 'hello' });
        expect(packet!.token).to.equal(client.client.token);
      }
    });

    it('makes rooms cluster-wide: to(room).except(room).broadcast reaches the members on every node, and no one else', async () => {
      const [a, b, c] = await cluster(3);
      const [a1, a2] = await a!.connect(2);
      const [b1, b2] = await b!.connect(2);
      const [c1] = await c!.connect(1);
      for (const member of [a1!, b1!, b2!, c1!]) await member.client.request('join', 'lobby');
      await b2!.client.request('join', 'muted');
      const local = await a!.run<number>('toRoom', ['lobby'], ['muted'], 'chat', { text: 'hi room' });
      expect(local).to.equal(1);
      const members = [a1!, b1!, c1!];
      await until(() => members.every((m) => of(m, 'chat').length === 1), WAIT_MS, 'every unmuted member of the room');
      for (const member of members) expect(of(member, 'chat')[0]!.token).to.equal(member.client.token);
      // A marker broadcast to everyone, sent after the room broadcast from the same node, arrives after
      // it: once the others have the marker, they would have had the room packet too.
      await a!.run('broadcast', 'marker', null);
      await until(() => [a2!, b2!].every((m) => of(m, 'marker').length === 1), WAIT_MS, 'the marker');
      expect(of(a2!, 'chat')).to.deep.equal([]);
      expect(of(b2!, 'chat')).to.deep.equal([]);
      const listed = await b!.run<ClusterClient[]>('fetchClients');
      expect([...listed.find((client) => client.id === b2!.id)!.rooms].sort()).to.deep.equal(['lobby', 'muted']);
      expect(listed.find((client) => client.id === c1!.id)!.rooms).to.deep.equal(['lobby']);
    });

    it('sends to and requests a client on another node by its public id, and rejects an unknown id', async () => {
      const [a, b] = await cluster(2);
      const [target] = await b!.connect(1);
      target!.client.bindAction('double', (n: number) => n * 2);
      await a!.run('sendTo', target!.id, 'direct', { x: 1 });
      await until(() => of(target!, 'direct').length === 1, WAIT_MS, 'the directed packet');
      expect(of(target!, 'direct')[0]!.data).to.deep.equal({ x: 1 });
      expect(await a!.run('requestClient', target!.id, 'double', 21)).to.equal(42);
      const unknown = await a!.run('sendTo', 'no-such-id', 'direct', null).catch((err: CommandError) => err);
      expect(unknown).to.include({ code: 'ERR_UNKNOWN_CLIENT', name: 'UnknownClientError' });
      const noHandler = await a!.run('requestClient', target!.id, 'unbound', null).catch((err: CommandError) => err);
      expect(noHandler).to.include({ code: 'ERR_REMOTE', name: 'RemoteError' });
    });

    it('lists every client of the cluster with its node, address and rooms, and no token', async () => {
      const [a, b] = await cluster(2);
      const clients = [...(await a!.connect(1)), ...(await b!.connect(2))];
      const listed = await a!.run<ClusterClient[]>('fetchClients');
      expect(listed.map((client) => client.id).sort()).to.deep.equal(clients.map((client) => client.id).sort());
      expect(listed.filter((client) => client.node === b!.node)).to.have.length(2);
      const text = JSON.stringify(listed);
      for (const client of clients) expect(text).not.to.include(client.client.token!);
      expect(Object.keys(listed[0]!).sort()).to.deep.equal(['address', 'connectedAt', 'id', 'node', 'rooms']);
    });

    it('drops a node killed with SIGKILL from the cluster view within the node timeout', async () => {
      const [a, b, c] = await cluster(3);
      const [onC] = await c!.connect(1);
      await c!.kill();
      nodes.splice(nodes.indexOf(c!), 1);
      const killedAt = Date.now();
      await Promise.all([waitForView(a!, [a!, b!]), waitForView(b!, [a!, b!])]);
      // clusterNodeTimeoutMs is 1.5 s and heartbeats 0.2 s: well inside the wait, whatever the load.
      expect(Date.now() - killedAt).to.be.below(WAIT_MS);
      const listed = await a!.run<ClusterClient[]>('fetchClients');
      expect(listed.map((client) => client.id)).not.to.include(onC!.id);
      const err = await a!.run('sendTo', onC!.id, 'x', null).catch((e: CommandError) => e);
      expect(err).to.include({ code: 'ERR_UNKNOWN_CLIENT' });
      await onC!.client.stop();
    });

    it('keeps the order of packets from one node to one connection across nodes, directed and broadcast alike', async () => {
      const [a, b] = await cluster(2);
      const [target] = await b!.connect(1);
      await a!.run('mixed', target!.id, 400);
      await until(() => of(target!, 'seq').length === 400, WAIT_MS, 'every sequenced packet');
      expect(of(target!, 'seq').map((packet) => (packet.data as { n: number }).n)).to.deep.equal(Array.from({ length: 400 }, (_, n) => n));
    });

    it('recovers from an engine restart in the middle of traffic, reporting every publish that failed', async function () {
      const engine = await PrivateEngine.start(kind);
      if (!engine) skipOrFail(this, `no ${kind} server binary to start a private one`);
      try {
        const [a, b] = await cluster(2, engine.url);
        const [listener] = await b!.connect(1);
        const run = a!.run<{ ok: number[]; failed: Array<{ n: number; code: string }> }>('broadcastRun', 'tick', 300, 5);
        await until(() => of(listener!, 'tick').length >= 20, WAIT_MS, 'traffic before the outage');
        await engine.kill();
        // Let the sender hit the outage before the engine comes back.
        const statusesDown = async (): Promise<boolean> => (await a!.run<Array<{ state: string }>>('statuses')).some((s) => s.state === 'down');
        for (let i = 0; i < 300 && !(await statusesDown()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
        await engine.restart();
        const { ok, failed } = await run;
        expect(ok.length + failed.length).to.equal(300);
        expect(failed.length, 'some publishes fail while the engine is down').to.be.above(0);
        expect(failed.every((f) => f.code === 'ERR_PUBLISH')).to.equal(true);
        const errors = await a!.run<Array<{ code: string }>>('errors');
        expect(errors.filter((e) => e.code === 'ERR_PUBLISH')).to.have.length(failed.length);
        expect(errors.filter((e) => e.code === 'ERR_ADAPTER_DOWN').length).to.be.at.least(1);
        const statuses = await a!.run<Array<{ state: string; reconnected?: boolean }>>('statuses');
        expect(statuses.map((s) => s.state)).to.include.members(['down', 'up']);
        expect(statuses.at(-1)).to.include({ state: 'up', reconnected: true });
        // At most once and in order: nothing twice, nothing that was not sent. (A crash of the engine
        // loses what it held, confirmed or not, and a publish reported as failed may have reached it
        // before the link broke; docs/scaling.md says so.)
        await a!.run('broadcast', 'tick', { n: 1000 });
        await until(() => of(listener!, 'tick').some((p) => (p.data as { n: number }).n === 1000), WAIT_MS, 'a broadcast after the recovery');
        const got = of(listener!, 'tick').map((p) => (p.data as { n: number }).n);
        expect(new Set(got).size).to.equal(got.length);
        expect([...got].sort((x, y) => x - y)).to.deep.equal(got);
        expect(got.every((n) => (n >= 0 && n < 300) || n === 1000)).to.equal(true);
      } finally {
        await Promise.all(nodes.splice(0).map((node) => node.close()));
        await engine.kill();
      }
    });
  });
}
