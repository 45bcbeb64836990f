// An authenticated chat with rooms: clients send a token in the handshake, a middleware checks it and
// names the user, rooms group the listeners, and a kick tells the client why.
import { firstValueFrom } from 'rxjs';
import { Client, ConnectionRefusedError, ReplyError, Server } from '../lib/index.js';

/** What clients send. */
interface ClientActions {
  join(data: { room: string }): string[];
  say(data: { room: string; text: string }): number;
}
/** What the server sends. */
interface ServerActions {
  said(data: { room: string; from: string; text: string }): void;
}
/** What the server keeps per connection. */
interface Data {
  user: string;
}
/** The handshake's credential. */
interface Auth {
  token: string;
}

// Stand-in for a real user store: token → user name.
const users = new Map([
  ['t-ann', 'ann'],
  ['t-bob', 'bob'],
  ['t-cy', 'cy'],
]);
const banned = new Set(['cy']);

const server = new Server<ClientActions, ServerActions, Data, Auth>({ port: 0 });

// Middleware run in order before a connection is registered. Throwing refuses it.
server.use((connection, auth) => {
  const user = typeof auth?.token === 'string' ? users.get(auth.token) : undefined;
  if (user === undefined) throw new Error('unknown token'); // the client sees only ERR_UNAUTHORIZED
  connection.data.user = user;
  connection.subject = user; // shown by the console's `clients`
});
server.use((connection) => {
  if (banned.has(connection.data.user)) throw new ReplyError('ERR_BANNED', 'this account is banned');
  connection.join('lobby');
  connection.join(`user:${connection.data.user}`); // a room of one, to leave the sender out of its own messages
});

server.bindAction('join', ({ room }, _packet, connection) => {
  connection.join(room);
  return [...connection.rooms].sort();
});
// Everyone in the room but the sender hears it.
server.bindAction('say', ({ room, text }, _packet, connection) => {
  return server.to(room).except(`user:${connection.data.user}`).broadcast('said', { room, from: connection.data.user, text });
});

await server.start();
const { port } = server.address();

function chatter(token: string): Client<ClientActions, ServerActions, Auth> {
  // A function is called on every connect, so a reconnection could fetch a fresh token.
  return new Client<ClientActions, ServerActions, Auth>({ port, auth: async () => ({ token }) });
}

const ann = chatter('t-ann');
const bob = chatter('t-bob');
await ann.start();
await bob.start();
console.log(`connected: ${[...server.clients.values()].map((c) => c.data.user).join(', ')}`);

for (const [token, name] of [['t-nobody', 'mallory'], ['t-cy', 'cy']] as const) {
  try {
    await chatter(token).start();
  } catch (err) {
    if (err instanceof ConnectionRefusedError) console.log(`${name} refused: ${err.remoteCode} (${err.message})`);
  }
}

console.log(`bob's rooms: ${(await bob.request('join', { room: 'rust' })).join(', ')}`);

const bobHears = firstValueFrom(bob.action$('said'));
console.log(`ann's lobby message reached ${await ann.request('say', { room: 'lobby', text: 'hi all' })}`);
const heard = (await bobHears).packet.data;
console.log(`bob heard in ${heard.room}: ${heard.from}: ${heard.text}`);
console.log(`ann's rust message reached ${await ann.request('say', { room: 'rust', text: 'anyone?' })}`);

const reason = firstValueFrom(bob.disconnect$);
await [...server.clients.values()].find((c) => c.data.user === 'bob')!.close('flooding', { retry: false });
console.log(`bob: ${await reason} (state ${bob.state})`);
console.log(`rooms now: ${[...server.rooms.counts()].map(([room, n]) => `${room}=${n}`).join(' ')}`);

await ann.stop();
await server.stop();
