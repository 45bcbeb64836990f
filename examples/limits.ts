// Limits: each bound says so with its own code when it is reached. A server with small limits, so that
// a few packets reach them.
import { firstValueFrom } from 'rxjs';
import { Client, PnetworkError, RemoteError, Server } from '../lib/index.js';

const server = new Server({ port: 0, maxFrameBytes: 1024, maxActionLength: 16, maxPacketsPerSecond: 5, maxConnections: 1 });
server.bindAction('echo', (text: string) => text);
await server.start();
const { port } = server.address();

/** The code a failed call carries: the peer's for a RemoteError, the local one otherwise. */
const codeOf = (err: unknown): string => (err instanceof RemoteError ? `${err.remoteCode} (from the server)` : err instanceof PnetworkError ? `${err.code} (local)` : String(err));

const client = new Client({ port, maxQueuedPackets: 2, reconnect: false });
// While the client connects, sends wait in its offline queue: a third one is refused.
const starting = client.start();
const queued = ['one', 'two', 'three'].map((text) => client.sendPacket('echo', text).then(() => 'queued', codeOf));
await starting;
console.log(`offline queue of 2: ${(await Promise.all(queued)).join(', ')}`);

// An action name longer than the server's maxActionLength: the packet is refused with an error packet
// (which the client reports on error$), and the connection stays. The packet could not be read, so a
// request refused this way is never answered: it ends at its timeout.
const refusal = firstValueFrom(client.error$);
await client.sendPacket('echo-with-a-long-name', 'hi');
console.log(`long action: ${codeOf(await refusal)}`);
console.log(`long action as a request: ${await client.request('echo-with-a-long-name', 'hi', { timeoutMs: 200 }).catch(codeOf)}`);
console.log(`still connected: ${await client.request('echo', 'yes')}`);

// maxPacketsPerSecond: a burst of 5 is allowed; more within the second are refused at once.
await new Promise((resolve) => setTimeout(resolve, 1_100)); // let the bucket refill after the packets above
const burst = await Promise.all(Array.from({ length: 8 }, (_v, i) => client.request('echo', `#${i}`).then(() => 'ok', codeOf)));
console.log(`burst of 8: ${burst.filter((outcome) => outcome === 'ok').length} answered, then ${burst.at(-1)}`);

// maxConnections: a second client is turned away while the first is connected.
console.log(`second client: ${await new Client({ port, reconnect: false }).start().then(() => 'connected', codeOf)}`);

// A frame over this side's own maxFrameBytes is refused before a byte is written.
const small = new Client({ port, maxFrameBytes: 1024, reconnect: false });
await client.stop();
await small.start();
console.log(`2 KiB packet: ${await small.sendPacket('echo', 'x'.repeat(2048)).then(() => 'sent', codeOf)}`);
await small.stop();

// The server's own limit: a 2 KiB frame from a client that allows more is refused by its header, and
// the connection closes.
const big = new Client({ port, reconnect: false });
await big.start();
const told = firstValueFrom(big.error$);
const closed = firstValueFrom(big.disconnect$);
await big.sendPacket('echo', 'x'.repeat(2048));
console.log(`2 KiB to the server: ${codeOf(await told)}, then ${await closed}`);

await big.stop();
await server.stop();
