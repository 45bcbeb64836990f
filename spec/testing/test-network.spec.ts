import { expect } from 'chai';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ReplyError } from '../../lib/index.js';
import { createTestNetwork, createTestPair } from '../../lib/testing/index.js';

const deepEqual = (actual: unknown, expected: unknown): void => void expect(actual).to.deep.equal(expected);

describe('pnetwork/testing', () => {
  it('runs a request and its reply over the in-memory network without moving virtual time', async () => {
    const scheduler = new TestScheduler(deepEqual);
    const { network, server, client } = await createTestPair({ scheduler });
    server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
    const reply = client.request('sum', { a: 1, b: 2 });
    await network.settle();
    expect(await reply).to.equal(3);
    expect(network.now).to.equal(0);
    expect(network.wire.actions({ withoutProtocol: true })).to.deep.equal(['sum', 'reply']);
    await network.close();
  });

  it('times a request out only when virtual time passes its timeout', async () => {
    const { network, server, client } = await createTestPair({ client: { requestTimeoutMs: 1_000 } });
    server.bindAction('never', () => new Promise(() => undefined));
    const reply = client.request('never', null);
    const outcome = reply.then(
      () => 'replied',
      (err: { code?: string }) => err.code,
    );
    await network.advance(999);
    let settled = false;
    void outcome.then(() => (settled = true));
    await network.settle();
    expect(settled).to.equal(false);
    await network.advance(1);
    expect(await outcome).to.equal('ERR_REQUEST_TIMEOUT');
    await network.close();
  });

  it('keeps an idle connection alive through many heartbeat intervals of virtual time', async () => {
    const { network, client } = await createTestPair({ server: { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500 } });
    await network.advance(60_000);
    expect(client.state).to.equal('connected');
    const pings = network.wire.actions({ from: 'server' }).filter((action) => action === 'ping').length;
    expect(pings).to.be.within(55, 61);
    await network.close();
  });

  it('closes a peer that stops answering pings, at the heartbeat deadline', async () => {
    const { network, server, client } = await createTestPair({ server: { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500 }, client: { heartbeatIntervalMs: 0, reconnect: false } });
    const left: number[] = [];
    server.disconnect$.subscribe(() => left.push(network.now));
    // The client stops reading: its pongs never come.
    network.stopReading(client);
    await network.advance(3_000);
    expect(left).to.deep.equal([1_500]);
    await network.close();
  });

  it('sends a handler ReplyError to the peer with its code', async () => {
    const { network, server, client } = await createTestPair();
    server.bindAction('withdraw', ({ amount }: { amount: number }) => {
      if (amount > 100) throw new ReplyError('APP_LIMIT', 'the limit is 100');
      return 'ok';
    });
    const refused = client.request('withdraw', { amount: 500 }).catch((err: { remoteCode?: string }) => err.remoteCode);
    await network.settle();
    expect(await refused).to.equal('APP_LIMIT');
    await network.close();
  });

  it('serves many clients on one network, each with its own token', async () => {
    const network = await createTestNetwork();
    const clients = await Promise.all([network.connect(), network.connect(), network.connect()]);
    const got: string[] = [];
    clients.forEach((client, index) => client.bindAction('news', (text: string) => void got.push(`${index}:${text}`)));
    await network.server.broadcast('news', 'hi');
    await network.settle();
    expect(got.sort()).to.deep.equal(['0:hi', '1:hi', '2:hi']);
    const tokens = network.wire.packets({ from: 'server' }).filter((entry) => entry.packet?.action === 'news').map((entry) => entry.packet!.token);
    expect(new Set(tokens).size).to.equal(3);
    await network.close();
  });

  it('replays what was sent as marbles inside TestScheduler.run()', async () => {
    const { network, server, client } = await createTestPair();
    server.bindAction('tick', () => undefined);
    await client.sendPacket('tick', 1);
    await network.advance(5);
    await client.sendPacket('tick', 2);
    await network.advance(10);
    await client.sendPacket('tick', 3);
    await network.settle();
    new TestScheduler(deepEqual).run(({ expectObservable }) => {
      const ticks = network.wire.replay({ from: 'client', withoutProtocol: true }).pipe(map((packet) => packet?.data));
      expectObservable(ticks).toBe('a 4ms b 9ms (c|)', { a: 1, b: 2, c: 3 });
    });
    await network.close();
  });

  it('rejects a connect when nothing listens, as a refused TCP connect does', async () => {
    const network = await createTestNetwork();
    await network.server.stop();
    const failure = await network.connect({ reconnect: false }).then(
      () => 'connected',
      (err: { code?: string }) => err.code,
    );
    expect(failure).to.equal('ERR_NOT_CONNECTED');
  });
});
