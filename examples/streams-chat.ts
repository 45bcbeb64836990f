import { concatMap, endWith, map, startWith, timer, from, type Observable } from 'rxjs';
import { Client, Server, type Stream } from '../lib/index.js';

interface ChatActions {
  // A channel: the handler reads the user's messages and answers with its own.
  chat(data: Observable<string>): Stream<string>;
}

const server = new Server<ChatActions>({ port: 0 });
server.bindAction('chat', (messages) =>
  messages.pipe(
    // A slow bot: it thinks 5 ms about each message. concatMap queues the messages that arrive meanwhile
    // (consumed means delivered, see "Credit"): fine for a chat, not for an endless upload.
    concatMap((text) => timer(5).pipe(map(() => `bot: you said "${text}"`))),
    startWith('bot: hello!'),
    endWith('bot: bye!'),
  ),
);
await server.start();

const client = new Client<ChatActions>({ port: server.address().port });
await client.start();

// The user's side of the channel completes after three messages; the bot's side then completes too.
const said = from(['hi', 'how are you?', 'see you']);
await new Promise<void>((done) => {
  client.channel('chat', said).subscribe({
    next: (line) => console.log(line),
    complete: () => done(),
  });
});

await client.stop();
await server.stop();
