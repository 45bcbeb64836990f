import { bufferCount, filter, map, take } from 'rxjs';
import { Client, RemoteError, ReplyError, RequestTimeoutError, Server } from '../lib/index.js';

/**
 * Actions clients send and the server binds: the parameter is the data, the return type the reply.
 * Declared with `type`, not `interface`: an action map must be assignable to ActionMap's index signature.
 */
type ClientActions = {
  sum(d: { a: number; b: number }): number;
  divide(d: { a: number; b: number }): number;
  slow(d: { ms: number }): string;
  unbound(d: null): void;
  chat(d: { text: string }): void;
};

/** Actions the server sends and clients bind. */
type ServerActions = {
  whoAreYou(d: null): { name: string };
};

const server = new Server<ClientActions, ServerActions>({ port: 0 });
server.bindAction('sum', ({ a, b }) => a + b); // a and b are numbers; the reply must be a number
server.bindAction('divide', ({ a, b }) => {
  if (b === 0) throw new ReplyError('APP_DIVIDE_BY_ZERO', 'division by zero'); // the error reply the client sees
  return a / b;
});
server.bindAction('slow', ({ ms }) => new Promise<string>((resolve) => setTimeout(() => resolve('late'), ms)));
server.error$.subscribe((error) => console.log(`server error$: ${error.code}`));

// Compose with RxJS: chat texts, upper-cased, in pairs.
const pairs = server.action$('chat').pipe(
  map(({ packet }) => packet.data.text),
  filter((text) => text.length > 0),
  map((text) => text.toUpperCase()),
  bufferCount(2),
  take(2),
);
pairs.subscribe((pair) => console.log(`chat pair: ${pair.join(' + ')}`));
await server.start();

const client = new Client<ClientActions, ServerActions>({ port: server.address().port, requestTimeoutMs: 2_000 });
client.bindAction('whoAreYou', () => ({ name: 'typed client' }));
await client.start();

const total: number = await client.request('sum', { a: 2, b: 3 });
console.log(`sum: ${total}`);

try {
  await client.request('divide', { a: 1, b: 0 });
} catch (err) {
  if (err instanceof RemoteError) console.log(`divide failed: ${err.remoteCode}: ${err.message}`);
}

try {
  await client.request('unbound', null);
} catch (err) {
  if (err instanceof RemoteError) console.log(`unbound failed: ${err.remoteCode}`);
}

try {
  await client.request('slow', { ms: 200 }, { timeoutMs: 50 }); // a per-request timeout
} catch (err) {
  if (err instanceof RequestTimeoutError) console.log(`slow failed: ${err.code} after ${err.timeoutMs} ms`);
}
await new Promise((resolve) => setTimeout(resolve, 250)); // the late reply arrives and is ignored

for (const text of ['hi', '', 'how are you', 'fine', 'bye']) await client.sendPacket('chat', { text });

// The server can send requests too: to one client, found by its token.
const who = await server.getClient(client.token!)!.request('whoAreYou', null);
console.log(`client says it is: ${who.name}`);

await client.stop();
await server.stop();
