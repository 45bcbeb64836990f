import { firstValueFrom } from 'rxjs';
import { Client, Server } from '../lib/index.js';

const server = new Server({ port: 0 });
await server.start();
const { port } = server.address();

// Three clients, each waiting for one 'news' packet and one 'whisper'.
const names = ['alice', 'bob', 'carol'];
const clients = names.map(() => new Client({ port }));
const news = clients.map((client) => firstValueFrom(client.action$('news')));
await Promise.all(clients.map((client) => client.start()));
console.log(`clients connected: ${server.clients.size}`);

// Every client receives the packet, each with its own token only.
const delivered = await server.broadcast('news', { headline: 'pnetwork 0.1 released' });
console.log(`broadcast delivered to ${delivered} clients`);
const received = await Promise.all(news);
received.forEach(({ packet }, i) => {
  const own = packet.token === clients[i]!.token;
  console.log(`${names[i]} got news: ${(packet.data as { headline: string }).headline} (own token: ${own})`);
});

// One client, found by its token.
const bob = clients[1]!;
const whisper = firstValueFrom(bob.action$('whisper'));
await server.getClient(bob.token!)?.sendPacket('whisper', 'only for bob');
console.log(`bob got whisper: ${(await whisper).packet.data as string}`);

// A filtered broadcast: everyone except bob.
const others = await server.broadcast('news', { headline: 'second edition' }, (connection) => connection.token !== bob.token);
console.log(`filtered broadcast delivered to ${others} clients`);

// A graceful stop tells every client why; each client's connection resolves `closed` with the reason.
const reasons = clients.map((client) => client.connection!.closed);
await server.stop('maintenance');
for (const [i, reason] of (await Promise.all(reasons)).entries()) console.log(`${names[i]}: ${reason}`);
await Promise.all(clients.map((client) => client.stop()));
