// Scaling out: two servers sharing an adapter act as one. Here both run in this process on a MemoryBus;
// across processes or machines, give each server redisAdapter({ url }) or natsAdapter({ servers }).
import { firstValueFrom } from 'rxjs';
import { Client, MemoryBus, Server, memoryAdapter } from '../lib/index.js';

const bus = new MemoryBus();
const a = new Server({ port: 0, adapter: memoryAdapter({ bus }) });
const b = new Server({ port: 0, adapter: memoryAdapter({ bus }) });
await a.start();
await b.start();

// One client on each server.
const ann = new Client({ port: a.address().port });
const bob = new Client({ port: b.address().port });
ann.bindAction('sum', ({ x, y }: { x: number; y: number }) => x + y);
const annNews = firstValueFrom(ann.action$('news'));
const bobNews = firstValueFrom(bob.action$('news'));
const whisper = firstValueFrom(ann.action$('whisper'));
await ann.start();
await bob.start();
// The public id of ann's connection, as server a knows it (never the token).
const connectionId = [...a.clients.values()][0]!.id;

// From server b: a broadcast reaches the clients of every node, and one client is reached by its id.
const delivered = await b.broadcast('news', { text: 'hi' }); // every client of every node
console.log(`broadcast from b: ${delivered} of b's own clients; ann got ${(await annNews).packet.data.text}, bob got ${(await bobNews).packet.data.text}`);
await b.sendTo(connectionId, 'whisper', { text: 'psst' }); // one client, on whichever node it is
console.log(`ann got whisper: ${(await whisper).packet.data.text}`);
const sum = await b.requestClient(connectionId, 'sum', { x: 1, y: 2 });
console.log(`ann, asked from b: 1 + 2 = ${sum}`);
const everyone = await b.fetchClients(); // [{ id, node, address, rooms, connectedAt }]
console.log(`clients of the cluster: ${everyone.length}, on ${new Set(everyone.map((client) => client.node)).size} nodes`);

await ann.stop();
await bob.stop();
await a.stop();
await b.stop();
