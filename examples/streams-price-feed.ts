import { take, toArray, lastValueFrom } from 'rxjs';
import { Client, Server, type Stream } from '../lib/index.js';

// The actions clients send; `prices` is a streaming action: its handler returns Stream<number>.
interface FeedActions {
  prices(data: { symbol: string }): Stream<number>;
}

// An endless, fast price feed. An async generator is pulled only as the consumer's credit allows,
// so however slow the consumer, the server holds no backlog.
let stopped!: () => void;
const feedStopped = new Promise<void>((resolve) => (stopped = resolve));
const server = new Server<FeedActions>({ port: 0 });
server.bindAction('prices', async function* ({ symbol }) {
  try {
    for (let tick = 0; ; tick++) yield Math.round((100 + tick * 0.25 + (symbol.length % 3)) * 100) / 100;
  } finally {
    stopped(); // runs when the client cancels
  }
});
await server.start();

const client = new Client<FeedActions>({ port: server.address().port });
await client.start();

// 1. A plain stream: values arrive as fast as the client takes them; take(3) cancels the rest.
const firstThree = await lastValueFrom(client.stream('prices', { symbol: 'ACME' }).pipe(take(3), toArray()));
console.log(`first three: ${firstThree.join(', ')}`);
await feedStopped;
console.log('feed stopped after the cancel');

// 2. A slow consumer with explicit demand: one price per 10 ms, asked for one at a time.
const feed = client.demandStream('prices', { symbol: 'ACME' });
const slow: number[] = [];
await new Promise<void>((done) => {
  const subscription = feed.values$.subscribe((price) => {
    slow.push(price);
    if (slow.length === 5) {
      subscription.unsubscribe();
      done();
    } else setTimeout(() => feed.request(1), 10);
  });
  feed.request(1);
});
console.log(`slow consumer got: ${slow.join(', ')}`);

await client.stop();
await server.stop();
