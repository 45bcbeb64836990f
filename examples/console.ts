// The console, embedded: the same commands as `pnetwork serve`, on a server of your own. Here a script
// of commands stands in for the keyboard; in a terminal, leave out input and output.
import { PassThrough } from 'node:stream';
import { firstValueFrom } from 'rxjs';
import { Client, Server } from '../lib/index.js';
import { CLI } from '../lib/cli/index.js';

const server = new Server({ port: 0 });
server.bindAction('chat', (data: { text: string }) => console.log(`chat: ${data.text}`));
await server.start();

const client = new Client({ port: server.address().port, reconnect: false });
const news = firstValueFrom(client.action$('news'));
await client.start();

// Commands as a user would type them; the end of input stops the server, as Ctrl-D does.
const input = new PassThrough();
input.end('actions\nbroadcast news {"text":"from the console"}\n');

// Resolves once the input has ended and server.stop() has finished.
await new CLI(server, 'chat-server', { input, output: process.stdout, color: false }).processCommand();

console.log(`client got: ${(await news).packet.data.text}`);
await client.stop();
