import { Bind, Client, Server, type Connection, type Packet } from '../lib/index.js';

// A one-way action: run() returns nothing, so nothing is sent back.
class TestAction extends Bind<{ text: string }> {
  run(data: { text: string }): void {
    console.log(`TestAction: ${data.text}`);
  }
}

// A request handler: run()'s return value (or its Promise's value) is the reply.
class MultiplyAction extends Bind<{ a: number; b: number }, number> {
  async run(data: { a: number; b: number }): Promise<number> {
    return data.a * data.b;
  }
}

// run() also receives the whole packet and the connection it arrived on, so it can answer with
// packets of its own.
class EchoAction extends Bind<string, void, Connection> {
  run(data: string, packet: Packet<string, string>, connection: Connection): Promise<void> {
    return connection.sendPacket('echo', `${packet.action}: ${data}`);
  }
}

const server = new Server({ port: 0 });
server.bindAction('test', new TestAction());
server.bindAction('multiply', new MultiplyAction());
server.bindAction('shout', new EchoAction());
await server.start();

const client = new Client({ port: server.address().port });
const echoed = new Promise<string>((resolve) => {
  client.bindAction('echo', (data: string) => resolve(data));
});
await client.start();

await client.sendPacket('test', { text: 'hello from a Bind subclass' });
console.log(`multiply: ${await client.request('multiply', { a: 6, b: 7 })}`);
await client.sendPacket('shout', 'hi');
console.log(`echo: ${await echoed}`);

await client.stop();
await server.stop();
