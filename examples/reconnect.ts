// Connection states and reconnection: the server drops a client, which comes back after its backoff with
// a new token; what it sends while it is away waits in the offline queue and goes out in order.
import { filter, firstValueFrom } from 'rxjs';
import { Client, Server } from '../lib/index.js';

const server = new Server({ port: 0 });
const notes: string[] = [];
server.bindAction('note', (text: string) => void notes.push(text));
await server.start();

// No jitter, so the delay printed below is the same on every run.
const client = new Client({ port: server.address().port, reconnectDelayMs: 50, reconnectJitter: 0 });
client.state$.subscribe((state) => console.log('state:', state));
client.disconnect$.subscribe((reason) => console.log('lost the server:', reason));
client.reconnectAttempt$.subscribe(({ attempt, delayMs }) => console.log(`attempt ${attempt} in ${delayMs} ms`));
await client.start();
const firstToken = client.token;

// The server closes the connection; the client is reconnecting, so these packets wait in its queue.
const lost = firstValueFrom(client.disconnect$);
const back = firstValueFrom(client.state$.pipe(filter((state) => state === 'connected')));
await server.getClient(client.token!)!.close('rebalancing');
await lost;
const queued = [client.sendPacket('note', 'one'), client.sendPacket('note', 'two')];
console.log(`queued while away: ${queued.length}, client writable: ${client.writable}`);
await back;
await Promise.all(queued);
console.log(`new token: ${client.token !== firstToken}`);

// A request after the queue: the server has seen both notes by the time it answers.
server.bindAction('notes', () => notes);
console.log(`server got: ${(await client.request('notes', null)).join(', ')}`);

await client.stop();
await server.stop();
