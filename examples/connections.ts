// Packets, handlers and connections: building and sending packets, what a handler receives, the token
// the handshake gives, a server's view of its clients, and filtering a connection's packets.
import { firstValueFrom } from 'rxjs';
import { Client, Server, createPacket, ofAction, type Packet } from '../lib/index.js';

const server = new Server({ port: 0 });

// A connection's events: joined once the handshake is done, left with its reason.
server.connection$.subscribe((connection) => {
  console.log(`a client joined (connection ${connection.id.length} hex digits, token hidden)`);
  void connection.closed.then((reason) => console.log(`left: ${reason}, packets in: ${connection.stats.packetsIn}`));
});
server.disconnect$.subscribe(({ reason }) => console.log(`disconnect$: ${reason}`));

// A handler gets the packet's data, the whole packet, and the connection it arrived on.
let chats = 0;
const binding = server.bindAction('chat', (data: { text: string }, packet, connection) => {
  chats++;
  console.log(`chat: ${data.text} (token matches its connection: ${packet.token === connection.token})`);
});
// Packets on one connection are handled in order, so this reply comes after every chat sent before it.
server.bindAction('chats', () => chats);

// Filter a connection's packets by action name, as action$ does for the whole server. packets$ sees
// every packet, whether or not a handler is bound to it.
let chatPackets = 0;
server.connection$.subscribe((connection) => {
  connection.packets$.pipe(ofAction('chat')).subscribe(() => chatPackets++);
});
await server.start();

// A packet built by hand: action, data, the time it was made, and no token yet.
const packet: Packet<'chat', { text: string }> = createPacket('chat', { text: 'hi' });
console.log(`built: ${packet.action} ${JSON.stringify(packet.data)} token=${String(packet.token)}`);

const client = new Client({ port: server.address().port });
await client.start();
console.log(`token: ${typeof client.token}, ${client.token!.length} characters`); // never print the token itself

await client.sendPacket(client.createPacket('chat', { text: 'hi' }));
await client.sendPacket('chat', { text: 'hi again' }); // the same, shorter
console.log(`server handled ${await client.request('chats', null)} chats`);

// One client, found by its token.
const whisper = firstValueFrom(client.action$('whisper'));
const connection = server.getClient(client.token!);
if (connection) await connection.sendPacket('whisper', 'only for you');
console.log(`client got: ${(await whisper).packet.data as string}`);
console.log(`unknown token: ${String(server.getClient('no-such-token'))}`);

binding.unsubscribe(); // unbinds the handler: later chat packets reach no handler
await client.sendPacket('chat', { text: 'nobody handles this' });
console.log(`server handled ${await client.request('chats', null)} chats`);
console.log(`ofAction saw ${chatPackets} chat packets`);

await client.stop();
await server.stop();
