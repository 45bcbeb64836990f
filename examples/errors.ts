// Errors: every failure has a class and a stable code. Your own codes travel to the peer with ReplyError;
// anything else a handler throws stays on the server, and the peer learns only ERR_HANDLER.
import { Client, PnetworkError, RemoteError, ReplyError, Server } from '../lib/index.js';

const server = new Server({ port: 0 });
// An error about one connection names it by its public id and its peer's address, never by its token.
server.error$.subscribe((error) => console.log(`server error$: ${error.code} (connection named: ${error.connectionId !== undefined}, address: ${error.remoteAddress !== undefined})`));

server.bindAction('withdraw', ({ amount }: { amount: number }) => {
  if (amount > 100) throw new ReplyError('APP_LIMIT', 'limit is 100');
  return 'ok';
});
server.bindAction('report', () => {
  throw new Error('db password wrong for host X'); // a secret the peer must never see
});
await server.start();

const client = new Client({ port: server.address().port });
await client.start();

async function attempt(action: string, data: unknown): Promise<void> {
  try {
    console.log(`${action}: ${await client.request(action, data)}`);
  } catch (err) {
    if (err instanceof RemoteError) console.log(`${action}: the server said ${err.remoteCode}: ${err.message}`);
    else if (err instanceof PnetworkError) console.log(`${action}: failed locally with ${err.code}`);
  }
}

await attempt('withdraw', { amount: 50 });
await attempt('withdraw', { amount: 500 });
await attempt('report', null);
await attempt('handshake', null); // a name the protocol reserves: refused before anything is sent

// Bad arguments are programming errors, not protocol failures: plain TypeError and RangeError.
try {
  new ReplyError('', 'no code');
} catch (err) {
  if (err instanceof TypeError) console.log(`ReplyError without a code: ${err.message}`);
}
try {
  new Server({ port: 70_000 });
} catch (err) {
  if (err instanceof RangeError) console.log(`bad option: ${err.message}`);
}

await client.stop();
await server.stop();
