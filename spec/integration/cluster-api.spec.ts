// The cluster calls of a Server, over the in-memory adapter: two servers share a bus, clients on each.
import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { PublishError, UnknownClientError, type PnetworkError } from '../../lib/errors.js';
import { Server } from '../../lib/server.js';
import { MemoryBus, memoryAdapter } from '../../lib/adapters/memory.js';
import type { Adapter } from '../../lib/adapters/adapter.js';
import { until, withDeadline } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';

const WAIT_MS = 10_000;

/** The memory adapter, with publishing that can be made to fail as an engine that has gone away. */
function breakable(bus: MemoryBus): Adapter & { broken: boolean } {
  const inner = memoryAdapter({ bus });
  const adapter = {
    kind: 'memory',
    broken: false,
    open: inner.open.bind(inner),
    publish: (channel: string, message: string) => (adapter.broken ? Promise.reject(new PublishError('memory', new Error('engine gone'))) : inner.publish(channel, message)),
    close: inner.close.bind(inner),
  };
  return adapter;
}

describe('integration: the cluster calls of a Server (memory adapter)', () => {
  const scope = specScope(WAIT_MS);

  it('refuses a clusterName that is not letters, digits, - or _ with a RangeError: it prefixes channel names', () => {
    for (const name of ['*', '>', 'my cluster', 'a.b', 'a*', '', 'x'.repeat(129)]) {
      expect(() => new Server({ clusterName: name }), JSON.stringify(name)).to.throw(RangeError, 'clusterName');
    }
    expect(() => new Server({ clusterName: 'chat-eu_1' })).not.to.throw();
  });

  it('fetchClients() that nobody awaits reports its failure on error$, not as an unhandled rejection', async () => {
    const bus = new MemoryBus();
    const adapter = breakable(bus);
    const a = await scope.started(new Server({ port: 0, adapter, clusterName: 'fetch' }));
    await scope.started(new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'fetch' }));
    await until(() => a.cluster.status !== null && a.cluster.nodes().length === 2, WAIT_MS, 'the two nodes to meet');
    const errors: PnetworkError[] = [];
    scope.subscriptions.push(a.error$.subscribe((error) => errors.push(error)));
    adapter.broken = true;
    void a.fetchClients();
    await until(() => errors.some((error) => error instanceof PublishError), WAIT_MS, 'the PublishError on error$');
    // A dropped promise's failure is reported on the turn of the event loop after its rejection: after
    // two more turns it would have been, so this counts what was reported in all.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(errors.filter((error) => error instanceof PublishError), 'PublishErrors on error$').to.have.length(1);
  });

  it('a requestClient() nobody awaits that stop() ends is reported on error$ before error$ completes', async () => {
    const bus = new MemoryBus();
    const a = new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'unheard' });
    await a.start();
    const b = await scope.started(new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'unheard' }));
    const client = await scope.started(new Client({ port: b.address().port }));
    client.bindAction('silent', () => new Promise(() => undefined));
    await until(() => a.cluster.nodes().length === 2, WAIT_MS, 'the two nodes to meet');
    const errors: PnetworkError[] = [];
    let completed = false;
    a.error$.subscribe({ next: (error) => errors.push(error), complete: () => (completed = true) });
    void a.requestClient(b.getClient(client.token!)!.id, 'silent', null);
    await until(() => client.connection!.stats.packetsIn > 0, WAIT_MS, 'the request to reach the client');
    await withDeadline(a.stop(), WAIT_MS, 'stop()');
    expect(completed).to.equal(true);
    expect(errors.map((error) => error.code)).to.include('ERR_CONNECTION_CLOSED');
  });

  it('sendTo() and requestClient() with a token instead of a connection id fail with UnknownClientError and publish nothing', async () => {
    const bus = new MemoryBus();
    const published: string[] = [];
    const inner = memoryAdapter({ bus });
    const adapter: Adapter = {
      kind: 'memory',
      open: (channels, listener) => inner.open(channels, listener),
      publish: (channel, message) => {
        published.push(message);
        return inner.publish(channel, message);
      },
      close: () => inner.close(),
    };
    const a = await scope.started(new Server({ port: 0, adapter, clusterName: 'tokens' }));
    const b = await scope.started(new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'tokens' }));
    const client = await scope.started(new Client({ port: b.address().port }));
    await until(() => a.cluster.nodes().length === 2, WAIT_MS, 'the two nodes to meet');
    const token = client.token!;
    const sent = await a.sendTo(token, 'hi', null).catch((err: unknown) => err);
    const asked = await a.requestClient(token, 'hi', null).catch((err: unknown) => err);
    for (const outcome of [sent, asked]) {
      expect(outcome).to.be.instanceOf(UnknownClientError);
      expect((outcome as Error).message).not.to.include(token);
    }
    expect(published.filter((message) => message.includes(token)), 'messages carrying the token').to.deep.equal([]);
  });

  it('requestClient() to a client of another node with the longest timeout the API accepts gets its reply', async () => {
    const bus = new MemoryBus();
    const a = await scope.started(new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'long' }));
    const b = await scope.started(new Server({ port: 0, adapter: memoryAdapter({ bus }), clusterName: 'long' }));
    const client = await scope.started(new Client({ port: b.address().port }));
    client.bindAction('ask', (question: string) => `answer to ${question}`);
    await until(() => a.cluster.nodes().length === 2, WAIT_MS, 'the two nodes to meet');
    const id = b.getClient(client.token!)!.id;
    const reply = await withDeadline(a.requestClient(id, 'ask', 'life', { timeoutMs: 2 ** 31 - 1 }), WAIT_MS, 'the reply');
    expect(reply).to.equal('answer to life');
  });
});
