import { Client, Server } from '../lib/index.js';

// A server on a free port, with two actions bound.
const server = new Server({ port: 0 });
server.bindAction('hello', (data: { name: string }) => {
  console.log(`server: hello from ${data.name}`);
});
server.bindAction('sum', (data: { a: number; b: number }) => data.a + data.b);
await server.start();

// A client: start() resolves once the handshake is done and the client holds its token.
const client = new Client({ port: server.address().port });
await client.start();

await client.sendPacket('hello', { name: 'quick-start' }); // one-way: no reply
const sum: number = await client.request('sum', { a: 1, b: 2 }); // request: resolves with the reply
console.log(`client: 1 + 2 = ${sum}`);

await client.stop();
await server.stop();
console.log('stopped');
