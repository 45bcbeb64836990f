// Load: 2,000 concurrent clients against one server (in its own process, so its memory is measured
// alone), 50 packets from each while the server broadcasts. Every packet arrives exactly once and in
// order per connection, in both directions, and the server's memory stays bounded and returns to its
// baseline once the clients are gone. Among them is a consumer that stops reading: it is disconnected
// for it ("peer stopped reading") while the others keep receiving everything.
import { expect } from 'chai';
import { Client } from '../../lib/index.js';
import { ChildServer, type ProbeReply } from '../helpers/child-server.js';
import { RawClient } from '../helpers/raw-client.js';
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
/** Buffer memory (Buffers, sockets' backlogs) the server may keep above its baseline once they are gone. */
const AFTER_BUFFER_SLACK_BYTES = 4 * 1024 * 1024;

/** Backlog over which a connection is not writable, and how long its peer may then read nothing (virtual ms). */
const MAX_SEND_BUFFER_BYTES = 64 * 1024;
const SEND_STALL_MS = 200;
/** Clients in the `bulk` room with the slow consumer; each bulk packet alone is over the send buffer limit. */
const BULK_MEMBERS = 10;
const BULK_PACKETS = 64;
const BULK_BYTES = 96 * 1024; // 6 MiB in all: more than loopback's socket buffers (about 3.5 MiB) take from a peer that reads nothing
/** Broadcasts after the slow consumer is gone. */
const LATER = 5;

describe('load (integration)', function () {
  this.timeout(180_000);

  let server: ChildServer;
  let clients: Client[] = [];
  let slow: RawClient | null = null;

  before(async () => {
    server = await ChildServer.start({ maxSendBufferBytes: MAX_SEND_BUFFER_BYTES, sendStallTimeoutMs: SEND_STALL_MS });
  });

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    clients = [];
    await slow?.destroy();
    slow = null;
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

  it('2,000 clients × 50 packets plus broadcasts: each packet exactly once and in order per connection; one that stops reading is disconnected', async () => {
    const baseline = await server.gc();
    const news: number[][] = [];
    const later: number[][] = [];
    const bulk: number[][] = [];
    for (let start = 0; start < CLIENTS; start += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, CLIENTS - start) }, (_, i) => {
        const client = new Client({ port: server.port, reconnect: false });
        const got: number[] = [];
        const gotLater: number[] = [];
        news[start + i] = got;
        later[start + i] = gotLater;
        client.bindAction('news', (data: { n: number }) => {
          got.push(data.n);
        });
        client.bindAction('later', (data: { n: number }) => {
          gotLater.push(data.n);
        });
        clients.push(client);
        return client;
      });
      await withDeadline(Promise.all(batch.map((client) => client.start())), 60_000, `clients ${start}… to connect`);
    }

    // The slow consumer: handshakes, joins `bulk` with a few others, and never reads again.
    slow = await RawClient.connect(server.port);
    await slow.handshake();
    slow.socket.pause();
    slow.send('join', 'bulk');
    for (const client of clients.slice(0, BULK_MEMBERS)) {
      const got: number[] = [];
      bulk.push(got);
      client.bindAction('bulk', (data: { n: number }) => {
        got.push(data.n);
      });
      await client.sendPacket('join', 'bulk');
    }
    await poll((state) => state.clients === CLIENTS + 1 && state.rooms.bulk === BULK_MEMBERS + 1, 'every client to be registered and the bulk room to fill');

    // Sent all at once: the promise settles only once the slow consumer's sends fail.
    const filled = server.broadcastPlan({ action: 'bulk', room: 'bulk', count: BULK_PACKETS, bytes: BULK_BYTES, together: true }, 120_000);
    filled.catch(() => undefined); // awaited below; a test that fails before must not leave it unhandled
    await until(() => bulk.every((got) => got.length >= BULK_PACKETS), 60_000, 'the bulk room members that read to receive every bulk packet');
    const backlogged = await poll((state) => state.unwritable === 1, 'the slow consumer to be over the send buffer limit');
    expect(backlogged.open, 'the slow consumer is still connected').to.equal(CLIENTS + 1);

    // Every client sends its 50 at once (none awaited before the next), while the server broadcasts.
    const sends = clients.map((client) => Promise.all(Array.from({ length: PACKETS }, (_, n) => client.sendPacket('seq', { n }))));
    const broadcast = server.broadcastPlan({ count: BROADCASTS, bytes: 0, together: true }, 120_000);
    broadcast.catch(() => undefined);
    await withDeadline(Promise.all(sends), 60_000, 'every send to be accepted');

    const loaded = await poll((state) => state.seqReceived >= CLIENTS * PACKETS, 'every packet to arrive');
    expect(loaded.seqViolations, 'out of order or repeated').to.deep.equal([]);
    expect(loaded.seqReceived, 'exactly once').to.equal(CLIENTS * PACKETS);
    await until(() => news.every((got) => got.length >= BROADCASTS), 60_000, 'every broadcast to reach every client');
    const expected = Array.from({ length: BROADCASTS }, (_, i) => i + 1);
    const wrong = news.findIndex((got) => got.length !== BROADCASTS || got.some((n, i) => n !== expected[i]));
    expect(wrong, `client ${wrong} received ${JSON.stringify(news[wrong])}`).to.equal(-1);
    const expectedBulk = Array.from({ length: BULK_PACKETS }, (_, i) => i + 1);
    expect(bulk, 'bulk packets, exactly once and in order').to.deep.equal(bulk.map(() => expectedBulk));

    // Everyone else has it all while the slow consumer still holds its backlog; its time runs out now.
    const stalled = await server.status();
    expect(stalled.unwritable, 'only the slow consumer is over the limit').to.equal(1);
    expect(stalled.disconnects, 'nobody has left yet').to.deep.equal({});
    await server.advance(SEND_STALL_MS);
    const dropped = await poll((state) => state.open === CLIENTS, 'the slow consumer to be disconnected');
    expect(dropped.disconnects, 'the reason it was disconnected').to.deep.equal({ 'peer stopped reading': 1 });
    expect(dropped.codes.ERR_SEND_BUFFER_FULL, 'reported on error$ once').to.equal(1);
    // The slow consumer's socket took the first bulk packets before it filled; the rest never reached it.
    const bulkReached = (await filled).reached;
    const handedToSlow = bulkReached.filter((count) => count === BULK_MEMBERS + 1).length;
    expect(bulkReached, 'each bulk packet reached the members that read').to.deep.equal(expectedBulk.map((n) => (n <= handedToSlow ? BULK_MEMBERS + 1 : BULK_MEMBERS)));
    expect(handedToSlow, "bulk packets the slow consumer's socket took").to.be.below(BULK_PACKETS);
    expect((await broadcast).reached, 'each broadcast reached every client that reads').to.deep.equal(expected.map(() => CLIENTS));
    slow.socket.resume();
    await slow.waitClosed(30_000);

    // The others keep receiving after it is gone.
    const { reached } = await server.broadcastPlan({ action: 'later', count: LATER, bytes: 0 });
    expect(reached).to.deep.equal(Array.from({ length: LATER }, () => CLIENTS));
    await until(() => later.every((got) => got.length >= LATER), 60_000, 'every later broadcast to reach every client');
    const expectedLater = Array.from({ length: LATER }, (_, i) => i + 1);
    const wrongLater = later.findIndex((got) => got.length !== LATER || got.some((n, i) => n !== expectedLater[i]));
    expect(wrongLater, `client ${wrongLater} received ${JSON.stringify(later[wrongLater])}`).to.equal(-1);

    const end = await server.status();
    expect(end.faults).to.deep.equal([]);
    expect(end.peakHeapUsed - baseline.heapUsed, `peak heap ${end.peakHeapUsed} over a baseline of ${baseline.heapUsed}`).to.be.below(PEAK_SLACK_BYTES);

    await Promise.all(clients.map((client) => client.stop()));
    clients = [];
    await poll((state) => state.open === 0 && state.clients === 0, 'every connection to close');
    const after = await server.gc();
    expect(after.heapUsed - baseline.heapUsed, `heap ${baseline.heapUsed} → ${after.heapUsed}`).to.be.below(AFTER_SLACK_BYTES);
    expect(after.arrayBuffers - baseline.arrayBuffers, `buffers ${baseline.arrayBuffers} → ${after.arrayBuffers}`).to.be.below(AFTER_BUFFER_SLACK_BYTES);
    expect(after.faults).to.deep.equal([]);
  });
});
