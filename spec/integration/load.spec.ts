// Load: 2,000 concurrent clients against one server (in its own process, so its memory is measured
// alone), 50 packets from each while the server broadcasts. Every packet arrives exactly once and in
// order per connection, in both directions, and the server's memory stays bounded and returns to its
// baseline once the clients are gone.
import { expect } from 'chai';
import { Client } from '../../lib/index.js';
import { ChildServer, type ProbeReply } from '../helpers/child-server.js';
import { until, withDeadline } from '../helpers/wait.js';

const CLIENTS = 2000;
const PACKETS = 50;
const BROADCASTS = 20;
/** Clients connected at once while the crowd gathers: the listen backlog is 511. */
const CONNECT_BATCH = 200;
/** Heap the server may use above its baseline while it holds 2,000 connections under traffic. */
const PEAK_SLACK_BYTES = 96 * 1024 * 1024; // measured: about 25 MiB
/** Heap the server may keep above its baseline once they are gone. */
const AFTER_SLACK_BYTES = 8 * 1024 * 1024;

describe('load (integration)', function () {
  this.timeout(180_000);

  let server: ChildServer;
  let clients: Client[] = [];

  before(async () => {
    server = await ChildServer.start();
  });

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    clients = [];
  });

  after(async () => {
    const code = await server.stop();
    expect(code, `the server process exits on its own, cleanly: ${server.errorOutput}`).to.equal(0);
  });

  async function poll(check: (state: ProbeReply) => boolean, what: string, ms = 60_000): Promise<ProbeReply> {
    const deadline = Date.now() + ms;
    let state = await server.status();
    while (!check(state)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify({ ...state, codes: state.codes })}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
      state = await server.status();
    }
    return state;
  }

  it('2,000 clients × 50 packets plus broadcasts: each packet exactly once and in order per connection', async () => {
    const baseline = await server.gc();
    const news: number[][] = [];
    for (let start = 0; start < CLIENTS; start += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, CLIENTS - start) }, (_, i) => {
        const client = new Client({ port: server.port, reconnect: false });
        const got: number[] = [];
        news[start + i] = got;
        client.bindAction('news', (data: { n: number }) => {
          got.push(data.n);
        });
        clients.push(client);
        return client;
      });
      await withDeadline(Promise.all(batch.map((client) => client.start())), 60_000, `clients ${start}… to connect`);
    }
    await poll((state) => state.clients === CLIENTS, 'every client to be registered');

    // Every client sends its 50 at once (none awaited before the next), while the server broadcasts.
    const sends = clients.map((client) => Promise.all(Array.from({ length: PACKETS }, (_, n) => client.sendPacket('seq', { n }))));
    const broadcast = server.broadcast(BROADCASTS);
    await withDeadline(Promise.all(sends), 60_000, 'every send to be accepted');
    const { reached } = await broadcast;
    expect(reached, 'each broadcast reached every client').to.deep.equal(Array.from({ length: BROADCASTS }, () => CLIENTS));

    const loaded = await poll((state) => state.seqReceived >= CLIENTS * PACKETS, 'every packet to arrive');
    expect(loaded.seqViolations, 'out of order or repeated').to.deep.equal([]);
    expect(loaded.seqReceived, 'exactly once').to.equal(CLIENTS * PACKETS);
    await until(() => news.every((got) => got.length >= BROADCASTS), 60_000, 'every broadcast to reach every client');
    const expected = Array.from({ length: BROADCASTS }, (_, i) => i + 1);
    const wrong = news.findIndex((got) => got.length !== BROADCASTS || got.some((n, i) => n !== expected[i]));
    expect(wrong, `client ${wrong} received ${JSON.stringify(news[wrong])}`).to.equal(-1);
    expect(loaded.faults).to.deep.equal([]);
    expect(loaded.peakHeapUsed - baseline.heapUsed, `peak heap ${loaded.peakHeapUsed} over a baseline of ${baseline.heapUsed}`).to.be.below(PEAK_SLACK_BYTES);

    await Promise.all(clients.map((client) => client.stop()));
    clients = [];
    await poll((state) => state.open === 0 && state.clients === 0, 'every connection to close');
    const after = await server.gc();
    expect(after.heapUsed - baseline.heapUsed, `heap ${baseline.heapUsed} → ${after.heapUsed}`).to.be.below(AFTER_SLACK_BYTES);
    expect(after.faults).to.deep.equal([]);
  });
});
