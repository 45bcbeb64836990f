import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { Server } from '../../lib/server.js';
import { MemoryBus, memoryAdapter } from '../../lib/adapters/memory.js';
import { until } from '../helpers/wait.js';
import { ConsoleHarness, WAIT_MS } from './console-harness.js';

describe('CLI (server console) in a cluster', () => {
  let a: Server;
  let b: Server;
  const clients: Client[] = [];
  let harness: ConsoleHarness | null = null;

  beforeEach(async () => {
    const bus = new MemoryBus();
    a = new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'console' });
    b = new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'console' });
    await a.start();
    await b.start();
    for (const server of [a, a, b]) {
      const client = new Client({ port: server.address().port });
      clients.push(client);
      await client.start();
    }
    await until(() => a.cluster.nodes().length === 2 && b.clients.size === 1 && a.clients.size === 2, WAIT_MS, 'both nodes and three clients');
    harness = new ConsoleHarness(a);
    await harness.ready();
  });

  afterEach(async () => {
    await harness?.cli.close();
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    await Promise.all([a.stop(), b.stop()]);
  });

  it('status shows the adapter, its state, this node and the nodes in view', async () => {
    const out = await harness!.run('status');
    expect(out).to.match(/^adapter\s+memory up \(no outages\), reconnects by itself$/m);
    expect(out).to.match(new RegExp(`^node\\s+${a.cluster.node}$`, 'm'));
    expect(out).to.match(/^nodes\s+2 \(/m);
  });

  it('clients lists the clients of every node with their node, and no token', async () => {
    const out = await harness!.run('clients');
    expect(out).to.match(/^ID\s+NODE\s+ADDRESS\s+CONNECTED\s+ROOMS$/m);
    for (const connection of [...a.clients.values(), ...b.clients.values()]) expect(out).to.include(connection.id);
    expect(out.split('\n').filter((line) => line.includes(`${a.cluster.node} *`))).to.have.length(2);
    expect(out.split('\n').filter((line) => line.includes(b.cluster.node))).to.have.length(1);
    for (const client of clients) expect(out).not.to.include(client.token!.slice(0, 8));
  });
});

describe('cli/commands/cluster-view clusterPairs', () => {
  it('says the adapter is down, for how long and why, and that it is reconnecting', async () => {
    const { clusterPairs } = await import('../../lib/cli/commands/cluster-view.js');
    const pairs = clusterPairs(
      { kind: 'redis', solitary: false, node: 'n1', status: { state: 'down', at: 1_000, error: new Error('connect ECONNREFUSED') }, outageCount: 1, nodes: () => [{ id: 'n1', clients: 2, self: true }] },
      6_000,
    );
    expect(pairs).to.deep.equal([
      ['adapter', 'redis DOWN for 5s: connect ECONNREFUSED; reconnecting'],
      ['node', 'n1'],
      ['nodes', '1 (2 clients in the cluster)'],
    ]);
  });
});
