// Tests of a user's handlers with pnetwork/testing: no sockets, no real waiting. In your own project,
// import from 'pnetwork' and 'pnetwork/testing'.
import { expect } from 'chai';
import { asyncScheduler, filter, interval, map, take, timer, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ReplyError, createEncryptKeys, type Server } from '../lib/index.js';
import { createTestPair } from '../lib/testing/index.js';

// The application code under test: a handler module that binds its actions on a server. What it does in
// time runs on the scheduler it is given, so a test can hand it the virtual one.
function bindShop(server: Server, scheduler: SchedulerLike = asyncScheduler): void {
  server.bindAction('price', ({ item }: { item: string }) => {
    if (item !== 'apple') throw new ReplyError('APP_UNKNOWN_ITEM', `no such item: ${item}`);
    return 3;
  });
  server.bindAction('restock', () => new Promise(() => undefined)); // never answers
  // A live price feed: one price every 100 ms, for ever.
  server.bindAction('prices', () => interval(100, scheduler).pipe(map((tick) => 3 + (tick % 5))));
}

const deepEqual = (actual: unknown, expected: unknown): void => void expect(actual).to.deep.equal(expected);

describe('the shop handlers', () => {
  it('answers a price and refuses an unknown item with its code', async () => {
    const { network, server, client } = await createTestPair({ scheduler: new TestScheduler(deepEqual) });
    bindShop(server);

    const price = client.request('price', { item: 'apple' });
    const unknown = client.request('price', { item: 'pear' }).catch((error: { remoteCode: string }) => error.remoteCode);
    await network.settle();

    expect(await price).to.equal(3);
    expect(await unknown).to.equal('APP_UNKNOWN_ITEM');
    await network.close();
  });

  it('times a request out after requestTimeoutMs of virtual time', async () => {
    const { network, server, client } = await createTestPair({ client: { requestTimeoutMs: 2_000 } });
    bindShop(server);

    const restock = client.request('restock', null).catch((error: { code: string }) => `${error.code} at ${network.now} ms`);
    await network.advance(5_000);

    expect(await restock).to.equal('ERR_REQUEST_TIMEOUT at 2000 ms');
    await network.close();
  });

  it('streams prices to a slow consumer that asks for each value when it is ready', async () => {
    const scheduler = new TestScheduler(deepEqual);
    const { network, server, client } = await createTestPair({ scheduler });
    bindShop(server, scheduler);

    // The consumer asks for 2 prices up front, then for one more after each 1 s of work.
    const seen: number[] = [];
    const prices = client.demandStream('prices', null);
    prices.values$.pipe(take(6)).subscribe((price) => {
      seen.push(price);
      timer(1_000, scheduler).subscribe(() => prices.request(1));
    });
    prices.request(2);
    await network.advance(10_000);

    expect(seen).to.deep.equal([3, 4, 5, 6, 7, 3]);
    // The feed produces a price every 100 ms, but the server sent only what was asked for.
    const sent = network.wire.packets({ from: 'server' }).filter((entry) => entry.packet?.action === 'stream-next');
    expect(sent.length).to.equal(6);

    // When each price was sent, as marbles: the first two as the feed made them, then each one as soon
    // as the consumer asked for it, 1 s after it took the one before (later prices waited on the server).
    new TestScheduler(deepEqual).run(({ expectObservable }) => {
      const sentPrices = network.wire.replay({ from: 'server' }, (entry) => entry.packet?.data, sent[0]!.frame);
      const firstFive = sentPrices.pipe(filter((price) => typeof price === 'number'), take(5));
      expectObservable(firstFive).toBe('a 99ms b 899ms c 99ms d 899ms (e|)', { a: 3, b: 4, c: 5, d: 6, e: 7 });
    });
    await network.close();
  });

  it('answers over TLS 1.3 when the server has keys and the client pins them', async function () {
    this.timeout(20_000); // key generation and the TLS handshake take real time
    const keys = await createEncryptKeys({ bits: 2048 });
    const { network, server, client } = await createTestPair({
      server: { tls: { keys } },
      client: { tls: { serverFingerprint: keys.fingerprint } },
    });
    bindShop(server);

    const price = client.request('price', { item: 'apple' });
    await network.settle();

    expect(await price).to.equal(3);
    expect(client.connection?.encrypted).to.equal(true);
    await network.close();
  });
});
