// Backpressure: a producer that sends as fast as it can, paced by writable and drained() so that what
// waits to be sent stays near maxSendBufferBytes instead of growing with the loop.
import { Client, Server } from '../lib/index.js';

const ROWS = 2_000;
const ROW = { id: 0, payload: 'x'.repeat(16 * 1024) }; // about 16 KiB a packet, 32 MiB in all
const MARK = 256 * 1024;

const server = new Server({ port: 0 });
let received = 0;
server.bindAction('row', () => void received++);
server.bindAction('count', () => received);
await server.start();

const client = new Client({ port: server.address().port, maxSendBufferBytes: MARK });
await client.start();

const rows = Array.from({ length: ROWS }, (_v, id) => ({ ...ROW, id }));
let waits = 0;
let peak = 0;
for (const row of rows) {
  if (!client.writable) {
    waits++;
    await client.drained();
  }
  void client.sendPacket('row', row); // a failure nobody handles is reported on error$
  peak = Math.max(peak, client.bufferedBytes);
}
console.log(`sent ${rows.length} rows, waiting for the socket ${waits > 0 ? 'more than once' : 'never'}`);
// The loop adds a row only while the backlog is under the mark, so it never gets far past it.
console.log(`largest backlog under twice the mark: ${peak < 2 * MARK}`);
console.log(`server received: ${await client.request('count', null)}`);

// The same rows in one unpaced burst: every one is accepted, and the backlog is the whole burst.
for (const row of rows) void client.sendPacket('row', row);
console.log(`unpaced burst: backlog over 16 MiB: ${client.bufferedBytes > 16 * 1024 * 1024}, writable: ${client.writable}`);
await client.drained();
console.log(`server received: ${await client.request('count', null)}`);

await client.stop();
await server.stop();
