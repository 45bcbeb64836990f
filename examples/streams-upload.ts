import { reduce, type Observable } from 'rxjs';
import { Client, Server } from '../lib/index.js';

interface UploadActions {
  // The handler receives the uploaded values as an Observable and answers with one summary.
  readings(data: Observable<number>): { count: number; sum: number };
}

const server = new Server<UploadActions>({ port: 0 });
server.bindAction('readings', (values) => values.pipe(reduce((summary, value) => ({ count: summary.count + 1, sum: summary.sum + value }), { count: 0, sum: 0 })));
await server.start();

const client = new Client<UploadActions>({ port: server.address().port });
await client.start();

// A slow producer: an async generator that waits between readings. The server grants credit as it
// reads, so the client never sends ahead of it.
async function* sensor(): AsyncGenerator<number> {
  for (let i = 1; i <= 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    yield i;
  }
}
const slow = await client.sendStream('readings', sensor());
console.log(`slow upload: ${slow.count} readings, sum ${slow.sum}`);

// A large array is pulled one value at a time as credit allows: no buffer fills up.
const bulk = await client.sendStream('readings', Array.from({ length: 100_000 }, (_v, i) => i % 10));
console.log(`bulk upload: ${bulk.count} readings, sum ${bulk.sum}`);

await client.stop();
await server.stop();
