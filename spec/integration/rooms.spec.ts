import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { ReservedActionError } from '../../lib/errors.js';
import { Server } from '../../lib/server.js';
import type { ServerConnection } from '../../lib/server-connection.js';
import { specScope } from '../helpers/spec-scope.js';
import { until } from '../helpers/wait.js';

const WAIT_MS = 10_000;

interface ClientActions {
  join(data: { rooms: string[] }): string[];
  leave(data: { room: string }): string[];
}
interface ServerActions {
  news(data: { room: string; n: number }): void;
}

describe('integration: rooms', function () {
  this.timeout(60_000);
  const scope = specScope(WAIT_MS);

  function startServer(): Promise<Server<ClientActions, ServerActions>> {
    const server = new Server<ClientActions, ServerActions>({ port: 0, heartbeatIntervalMs: 0 });
    server.bindAction('join', ({ rooms }, _packet, connection) => {
      for (const room of rooms) connection.join(room);
      return [...connection.rooms].sort();
    });
    server.bindAction('leave', ({ room }, _packet, connection) => {
      connection.leave(room);
      return [...connection.rooms].sort();
    });
    return scope.started(server);
  }

  /** A connected client that records every `news` packet it receives. */
  async function startClient(server: Server<ClientActions, ServerActions>): Promise<{ client: Client<ClientActions, ServerActions>; received: string[] }> {
    const client = new Client<ClientActions, ServerActions>({ port: server.address().port, heartbeatIntervalMs: 0, reconnect: false });
    const received: string[] = [];
    client.bindAction('news', ({ room, n }) => {
      received.push(`${room}#${n}`);
    });
    return { client: await scope.started(client), received };
  }

  function connectionOf(server: Server<ClientActions, ServerActions>, client: Client<ClientActions, ServerActions>): ServerConnection<ClientActions, ServerActions> {
    const connection = server.getClient(client.token!);
    if (!connection) throw new Error('client not registered');
    return connection;
  }

  it('joins and leaves, broadcasts to a room and to a room except another', async () => {
    const server = await startServer();
    const ann = await startClient(server);
    const bob = await startClient(server);
    const cy = await startClient(server);
    expect(await ann.client.request('join', { rooms: ['lobby'] })).to.deep.equal(['lobby']);
    expect(await bob.client.request('join', { rooms: ['lobby', 'muted'] })).to.deep.equal(['lobby', 'muted']);
    expect(await cy.client.request('join', { rooms: ['games'] })).to.deep.equal(['games']);
    expect(Object.fromEntries(server.rooms.counts())).to.deep.equal({ lobby: 2, muted: 1, games: 1 });

    expect(await server.to('lobby').broadcast('news', { room: 'lobby', n: 1 })).to.equal(2);
    expect(await server.to('lobby').except('muted').broadcast('news', { room: 'lobby-not-muted', n: 2 })).to.equal(1);
    expect(await server.to('lobby', 'games').broadcast('news', { room: 'lobby+games', n: 3 })).to.equal(3);
    expect(await bob.client.request('leave', { room: 'muted' })).to.deep.equal(['lobby']);
    expect(await server.to('lobby').except('muted').broadcast('news', { room: 'lobby-not-muted', n: 4 })).to.equal(2);

    await until(() => ann.received.length === 4 && bob.received.length === 3 && cy.received.length === 1, WAIT_MS, 'deliveries');
    expect(ann.received).to.deep.equal(['lobby#1', 'lobby-not-muted#2', 'lobby+games#3', 'lobby-not-muted#4']);
    expect(bob.received).to.deep.equal(['lobby#1', 'lobby+games#3', 'lobby-not-muted#4']);
    expect(cy.received).to.deep.equal(['lobby+games#3']);
    // Each packet carried the recipient's own token (a client refuses any other), so nothing was refused.
    expect(await server.to('nowhere').broadcast('news', { room: 'x', n: 0 })).to.equal(0);
  });

  it('clears a connection from every room when it closes', async () => {
    const server = await startServer();
    const ann = await startClient(server);
    const bob = await startClient(server);
    await ann.client.request('join', { rooms: ['a', 'b'] });
    await bob.client.request('join', { rooms: ['b'] });
    const annConnection = connectionOf(server, ann.client);
    await ann.client.stop();
    await until(() => server.clients.size === 1, WAIT_MS, 'ann to leave');
    expect(Object.fromEntries(server.rooms.counts())).to.deep.equal({ b: 1 });
    expect(annConnection.rooms.size).to.equal(0);
    // A closed connection joins nothing.
    annConnection.join('c');
    expect(server.rooms.counts().has('c')).to.equal(false);
    expect(await server.to('a', 'b').broadcast('news', { room: 'b', n: 1 })).to.equal(1);
  });

  it('refuses a reserved action and a bad room name with typed errors', async () => {
    const server = await startServer();
    const ann = await startClient(server);
    await ann.client.request('join', { rooms: ['lobby'] });
    const error = await server.to('lobby').broadcast('ping' as never, null as never).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(ReservedActionError);
    expect(() => server.to('')).to.throw(TypeError);
    expect(() => connectionOf(server, ann.client).join(undefined as never)).to.throw(TypeError);
  });

  it('delivers to 1,000 clients in 10 rooms exactly their rooms’ packets', async () => {
    const server = await startServer();
    const CLIENTS = 1000;
    const ROOMS = 10;
    // Client i is in room i % 10; every third client is also in room (i + 3) % 10.
    const roomsOf = (i: number): string[] => (i % 3 === 0 ? [`r${i % ROOMS}`, `r${(i + 3) % ROOMS}`] : [`r${i % ROOMS}`]);
    const peers: Array<{ client: Client<ClientActions, ServerActions>; received: string[] }> = [];
    for (let batch = 0; batch < CLIENTS; batch += 100) {
      const started = await Promise.all(Array.from({ length: 100 }, () => startClient(server)));
      await Promise.all(started.map((peer, k) => peer.client.request('join', { rooms: roomsOf(batch + k) })));
      peers.push(...started);
    }
    expect(server.clients.size).to.equal(CLIENTS);
    const counts = server.rooms.counts();
    expect(counts.size).to.equal(ROOMS);

    let sent = 0;
    for (let r = 0; r < ROOMS; r++) sent += await server.to(`r${r}`).broadcast('news', { room: `r${r}`, n: 1 });
    // Two rooms at once, minus a third: each member once.
    sent += await server.to('r1', 'r4').except('r7').broadcast('news', { room: 'r1|r4-r7', n: 2 });

    const expected = (i: number): string[] => {
      const rooms = roomsOf(i);
      const packets = rooms.map((room) => `${room}#1`);
      if ((rooms.includes('r1') || rooms.includes('r4')) && !rooms.includes('r7')) packets.push('r1|r4-r7#2');
      return packets.sort();
    };
    const total = peers.reduce((sum, _peer, i) => sum + expected(i).length, 0);
    expect(sent).to.equal(total);
    await until(() => peers.reduce((sum, peer) => sum + peer.received.length, 0) >= total, 30_000, 'every delivery');
    for (let i = 0; i < CLIENTS; i++) expect([...peers[i]!.received].sort(), `client ${i}`).to.deep.equal(expected(i));
  });
});
