import { expect } from 'chai';
import { Observable, of } from 'rxjs';
import { Bind } from '../../lib/bind.js';
import { Client } from '../../lib/client.js';
import { Connection } from '../../lib/connection.js';
import { DEFAULTS } from '../../lib/defaults.js';
import {
  AdapterDownError,
  ConnectionClosedError,
  FrameTooLargeError,
  HandlerError,
  PacketError,
  HandshakeError,
  ListenError,
  RemoteError,
  ReplyError,
  RequestTimeoutError,
  ReservedActionError,
  TokenMismatchError,
  type PnetworkError,
} from '../../lib/errors.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { jsonCodec } from '../../lib/protocol/codec.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import type { ClientOptions } from '../../lib/client.js';
import type { RawClient } from '../helpers/raw-client.js';
import { deferred, nextValue, until, withDeadline } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import type { Adapter } from '../../lib/adapters/adapter.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const WAIT_MS = 5000;

describe('integration: Server and Client over TCP', () => {
  const scope = specScope(WAIT_MS);
  const { collect } = scope;

  function startServer(options: ServerOptions = {}): Promise<Server> {
    return scope.started(new Server({ port: 0, ...options }));
  }

  function startClient(server: Server, options: ClientOptions = {}): Promise<Client> {
    return scope.started(new Client({ port: server.address().port, ...options }));
  }

  function rawClient(server: Server): Promise<RawClient> {
    return scope.rawClient(server.address().port);
  }

  describe('addresses', () => {
    it('defaults to host 127.0.0.1 and port 25565 on both sides (not bound)', () => {
      const server = new Server();
      const client = new Client();
      expect(server.address()).to.deep.equal({ host: '127.0.0.1', port: 25565 });
      expect(client.address()).to.deep.equal({ host: '127.0.0.1', port: 25565 });
      expect(server.address()).to.deep.equal({ host: DEFAULTS.host, port: DEFAULTS.port });
      expect(server.listening).to.equal(false);
    });

    it('reports the port the OS chose for port 0', async () => {
      const server = await startServer();
      const { host, port } = server.address();
      expect(host).to.equal('127.0.0.1');
      expect(port).to.be.a('number').and.greaterThan(0).and.not.equal(DEFAULTS.port);
      expect(server.listening).to.equal(true);
      const client = await startClient(server);
      expect(client.state).to.equal('connected');
    });

    it("gives a client's connection the server's address, read while open or first asked for after it closed", async () => {
      const server = await startServer();
      const port = server.address().port;
      const open = await startClient(server);
      const asked = open.connection!;
      expect(asked.remoteAddress).to.equal(`127.0.0.1:${port}`);
      const late = await startClient(server);
      const unasked = late.connection!;
      await Promise.all([open.stop(), late.stop()]);
      expect(asked.remoteAddress).to.equal(`127.0.0.1:${port}`);
      expect(unasked.remoteAddress).to.equal(`127.0.0.1:${port}`);
    });

    // Failed before: start() rejected with Node's own Error (code EADDRINUSE), not a PnetworkError.
    it('rejects start() with ListenError (ERR_LISTEN, the system code, the cause) when the address is taken, and can start again', async () => {
      const first = await startServer();
      const { port } = first.address();
      const second = new Server({ port });
      const error = await second.start().catch((err: unknown) => err);
      expect(error).to.be.instanceOf(ListenError).and.include({ code: 'ERR_LISTEN', systemCode: 'EADDRINUSE', host: '127.0.0.1', port });
      expect((error as ListenError).cause).to.be.instanceOf(Error);
      expect((error as Error).message).to.contain(`127.0.0.1:${port}`);
      expect(second.listening).to.equal(false);
      await first.stop();
      await second.start();
      expect(second.listening).to.equal(true);
      await second.stop();
    });

    it('starts once when start() is called twice at the same time, and a stop() during start() closes it', async () => {
      const server = new Server({ port: 0 });
      const [first, second] = [server.start(), server.start()];
      expect(first).to.equal(second);
      const stopping = server.stop();
      await first;
      await stopping;
      expect(server.listening).to.equal(false);
    });

    it('a broadcast on a server that is stopped hands the packet to no one and publishes nothing, with an adapter or without', async () => {
      const published: string[] = [];
      const adapter: Adapter = {
        kind: 'held',
        open: () => Promise.resolve(),
        publish: (_channel, message) => {
          published.push((JSON.parse(message) as { t: string }).t);
          return Promise.resolve();
        },
        close: () => Promise.resolve(),
      };
      for (const server of [new Server({ port: 0 }), new Server({ port: 0, adapter })]) {
        await server.start();
        await server.stop();
        published.length = 0;
        expect(await server.broadcast('news', 1)).to.equal(0);
        expect(await server.to('lobby').broadcast('news', 1)).to.equal(0);
        expect(published).to.deep.equal([]);
      }
    });

    it('start() with an engine that cannot be reached rejects with AdapterDownError saying so, and does not listen', async () => {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      const adapter: Adapter = { kind: 'held', open: () => Promise.reject(refused), publish: () => Promise.resolve(), close: () => Promise.resolve() };
      const server = new Server({ port: 0, adapter });
      const err = await server.start().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(AdapterDownError).and.include({ code: 'ERR_ADAPTER_DOWN', adapter: 'held', when: 'start', cause: refused });
      expect((err as Error).message).to.equal('held adapter could not reach its engine: connect ECONNREFUSED 127.0.0.1:1');
      expect(server.listening).to.equal(false);
    });

    describe('start() and stop() called without waiting for each other take effect in order', () => {
      /** An adapter that records its opens and closes and refuses to open while it is still open. */
      function strictAdapter(): Adapter & { log: string[] } {
        const log: string[] = [];
        let open = false;
        return {
          kind: 'strict',
          log,
          open: async () => {
            if (open) throw new Error('opened while open');
            await new Promise((resolve) => setImmediate(resolve));
            open = true;
            log.push('open');
          },
          publish: () => Promise.resolve(),
          close: async () => {
            await new Promise((resolve) => setImmediate(resolve));
            open = false;
            log.push('close');
          },
        };
      }

      it('start, stop, start: the server ends up listening, and the adapter was closed before it was opened again', async () => {
        const adapter = strictAdapter();
        const server = new Server({ port: 0, adapter });
        scope.cleanups.push(() => server.stop());
        const outcomes = await Promise.allSettled([server.start(), server.stop(), server.start()]);
        expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled']);
        expect(server.listening).to.equal(true);
        expect(adapter.log).to.deep.equal(['open', 'close', 'open']);
      });

      it('stop, then start before the stop has finished: the new run is served, and its streams stay open', async () => {
        const adapter = strictAdapter();
        const server = new Server({ port: 0, adapter });
        scope.cleanups.push(() => server.stop());
        server.bindAction('echo', (data: unknown) => data);
        await server.start();
        void server.stop();
        await server.start();
        expect(server.listening).to.equal(true);
        const connections = scope.collect(server.connection$);
        let completed = false;
        server.connection$.subscribe({ complete: () => (completed = true) });
        const client = await startClient(server);
        expect(await client.request('echo', 'z')).to.equal('z');
        expect(connections).to.have.length(1);
        expect(completed, 'connection$ completed while the server runs').to.equal(false);
        expect(adapter.log).to.deep.equal(['open', 'close', 'open']);
      });
    });

    it('a stop() while the adapter is still connecting waits for it, then leaves the cluster: nothing is left open or ticking', async () => {
      const clock = new VirtualClock();
      const opened = deferred<void>();
      const published: string[] = [];
      let closes = 0;
      const adapter: Adapter = {
        kind: 'held',
        open: () => opened.promise,
        publish: (_channel, message) => {
          published.push((JSON.parse(message) as { t: string }).t);
          return Promise.resolve();
        },
        close: () => {
          closes++;
          return Promise.resolve();
        },
      };
      const server = new Server({ port: 0, adapter, scheduler: clock });
      const started = server.start();
      await until(() => server.address().port !== 0, WAIT_MS, 'the server to listen');
      const stopping = server.stop();
      opened.resolve();
      await withDeadline(started, WAIT_MS, 'start()');
      await withDeadline(stopping, WAIT_MS, 'stop()');
      expect(server.listening).to.equal(false);
      expect(closes, 'adapter closes').to.equal(1);
      expect(server.cluster.status, 'the cluster status of a stopped server').to.equal(null);
      expect(published, 'the node said hello and then bye').to.deep.equal(['hello', 'bye']);
      expect(clock.pending, 'timers left (the cluster heartbeat)').to.equal(0);
    });
  });

  describe('handshake and clients', () => {
    it('a client start() called while another is connecting resolves once connected, with the token set', async () => {
      const server = await startServer();
      const client = scope.own(new Client({ port: server.address().port }));
      const first = client.start();
      const second = client.start();
      await withDeadline(second, WAIT_MS, 'the second start()');
      expect(client.state).to.equal('connected');
      expect(client.token).to.match(UUID_V4);
      await first;
    });

    it('stop() and start() at once during a start: the first start rejects with ConnectionClosedError, the second connects', async () => {
      const server = await startServer();
      const client = scope.own(new Client({ port: server.address().port }));
      const first = client.start().catch((err: unknown) => err);
      void client.stop('changed my mind');
      await withDeadline(client.start(), WAIT_MS, 'the second start()');
      expect(client.state).to.equal('connected');
      expect(await first).to.be.instanceOf(ConnectionClosedError);
    });

    it('a client start() while it reconnects resolves once it has reconnected, with the new token', async () => {
      const first = await startServer();
      const port = first.address().port;
      const client = await startClient(first, { reconnectDelayMs: 10, reconnectJitter: 0 });
      const before = client.token;
      await first.stop();
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the client to reconnect');
      const started = client.start();
      const second = await scope.started(new Server({ port }));
      await withDeadline(started, WAIT_MS, 'start() during the reconnection');
      expect(client.state).to.equal('connected');
      expect(client.token).to.match(UUID_V4).and.not.equal(before);
      expect(second.clients.has(client.token!)).to.equal(true);
    });

    it('a client start() while it reconnects rejects with ConnectionClosedError when stop() ends the reconnection', async () => {
      const server = await startServer();
      const client = await startClient(server, { reconnectDelayMs: 10, reconnectJitter: 0 });
      await server.stop();
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the client to reconnect');
      const started = client.start().catch((err: unknown) => err);
      await client.stop('giving up');
      const err = await withDeadline(started, WAIT_MS, 'start()');
      expect(err).to.be.instanceOf(ConnectionClosedError);
      expect((err as Error).message).to.include('giving up');
    });

    it('two reconnect() calls back to back: the first, cut short by the second, rejects; the second connects', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const outcomes = await Promise.allSettled([client.reconnect(), client.reconnect()]);
      expect(outcomes[1]!.status).to.equal('fulfilled');
      expect(client.state).to.equal('connected');
      if (outcomes[0]!.status === 'rejected') expect(outcomes[0].reason).to.be.instanceOf(ConnectionClosedError);
      expect(server.clients.size).to.equal(1);
    });

    it('sends and a request made right after an un-awaited reconnect() wait for the new connection and arrive in order', async () => {
      const server = await startServer();
      const notes: Array<{ n: number; token: string }> = [];
      server.bindAction('note', (n: number, packet: Packet) => {
        notes.push({ n, token: packet.token! });
      });
      server.bindAction('echo', (text: string) => text);
      const client = await startClient(server);
      const before = client.token;
      const reconnecting = client.reconnect();
      expect(client.state, 'the state during the reconnect').to.equal('connecting');
      const sends = [client.sendPacket('note', 1), client.sendPacket('note', 2)];
      const reply = client.request('echo', 'still here');
      await withDeadline(reconnecting, WAIT_MS, 'reconnect()');
      await withDeadline(Promise.all(sends), WAIT_MS, 'the sends');
      expect(await withDeadline(reply, WAIT_MS, 'the request')).to.equal('still here');
      await until(() => notes.length === 2, WAIT_MS, 'both notes');
      expect(notes.map((note) => note.n)).to.deep.equal([1, 2]);
      expect(client.token).to.match(UUID_V4).and.not.equal(before);
      expect(notes.every((note) => note.token === client.token), 'sent on the new connection').to.equal(true);
    });

    it('reconnect() while the server is down goes on trying, as after a lost connection, and resolves once reconnected', async () => {
      const first = await startServer();
      const port = first.address().port;
      const client = await startClient(first, { reconnectDelayMs: 10, reconnectJitter: 0 });
      await first.stop();
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the client to notice');
      const reconnecting = client.reconnect();
      const queued = client.sendPacket('note', 1);
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the immediate attempt to fail');
      const second = await scope.started(new Server({ port }));
      const notes: number[] = [];
      second.bindAction('note', (n: number) => void notes.push(n));
      await withDeadline(reconnecting, WAIT_MS, 'reconnect()');
      await withDeadline(queued, WAIT_MS, 'the queued send');
      expect(client.state).to.equal('connected');
      await until(() => notes.length === 1, WAIT_MS, 'the queued packet');
    });

    it('two reconnect() calls while the server is down: the client still goes on trying, and both resolve once it is back', async () => {
      const first = await startServer();
      const port = first.address().port;
      const client = await startClient(first, { reconnectDelayMs: 10, reconnectJitter: 0 });
      await first.stop();
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the client to notice');
      const one = client.reconnect().catch((err: unknown) => err);
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the first reconnect to fail over to retrying');
      const two = client.reconnect();
      await until(() => client.state === 'reconnecting', WAIT_MS, 'the second reconnect to fail over to retrying');
      await scope.started(new Server({ port }));
      await withDeadline(two, WAIT_MS, 'the second reconnect()');
      expect(client.state).to.equal('connected');
      // The first was waiting for the reconnection that the second made: it resolves with it.
      expect(await withDeadline(one, WAIT_MS, 'the first reconnect()')).to.equal(undefined);
    });

    it('stop() during an un-awaited reconnect(): the reconnect and the sends waiting for it reject with ConnectionClosedError', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const reconnecting = client.reconnect().catch((err: unknown) => err);
      const send = client.sendPacket('note', 1).catch((err: unknown) => err);
      await client.stop('never mind');
      expect(await withDeadline(reconnecting, WAIT_MS, 'reconnect()')).to.be.instanceOf(ConnectionClosedError);
      expect(await withDeadline(send, WAIT_MS, 'the send')).to.be.instanceOf(ConnectionClosedError);
      expect(client.state).to.equal('closed');
      await until(() => server.clients.size === 0, WAIT_MS, 'the server to see the client go');
    });

    it('resolves client.start() with a uuid v4 token that the server knows', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const token = client.token;
      expect(token).to.match(UUID_V4);
      expect(server.clients.has(token!)).to.equal(true);
      const connection = server.getClient(token!);
      expect(connection).to.be.instanceOf(Connection);
      expect(connection!.token).to.equal(token);
      expect(connection!.remoteAddress).to.match(/^127\.0\.0\.1:\d+$/);
      expect(connection!.stats).to.have.all.keys('packetsIn', 'packetsOut', 'bytesIn', 'bytesOut');
      expect(connection!.stats.bytesIn).to.be.greaterThan(0);
      expect(client.connection!.token).to.equal(token);
      expect(server.getClient('not-a-token')).to.equal(undefined);
    });

    it('emits connection$ for each client and disconnect$ when it leaves', async () => {
      const server = await startServer();
      const connected = nextValue(server.connection$, WAIT_MS, 'connection$');
      const client = await startClient(server);
      expect((await connected).token).to.equal(client.token);
      const left = nextValue(server.disconnect$, WAIT_MS, 'disconnect$');
      await client.stop();
      const event = await left;
      expect(event.connection.token).to.not.equal('');
      expect(server.clients.size).to.equal(0);
    });

    it('gives 20 clients 20 distinct tokens', async () => {
      const server = await startServer();
      const clients = await Promise.all(Array.from({ length: 20 }, () => startClient(server)));
      const tokens = new Set(clients.map((client) => client.token));
      expect(tokens.size).to.equal(20);
      for (const token of tokens) expect(token).to.match(UUID_V4);
      expect(server.clients.size).to.equal(20);
      expect([...server.clients.keys()].sort()).to.deep.equal([...tokens].sort());
    });

    it('builds packets with exactly the four fields on both sides', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const fromClient = client.createPacket('chat', { text: 'hi' });
      const fromServer = server.createPacket('news', 1);
      expect(Object.keys(fromClient).sort()).to.deep.equal(['action', 'data', 'packet-created', 'token']);
      expect(Object.keys(fromServer).sort()).to.deep.equal(['action', 'data', 'packet-created', 'token']);
      expect(fromClient).to.include({ action: 'chat', token: client.token });
      expect(fromClient.data).to.deep.equal({ text: 'hi' });
      expect(fromServer).to.include({ action: 'news', data: 1, token: null });
      expect(fromClient['packet-created']).to.be.a('number').and.closeTo(Date.now(), 60_000);
    });

    it('refuses a raw first packet that is not a handshake with ERR_HANDSHAKE_REQUIRED, then closes', async () => {
      const server = await startServer();
      const errors = collect(server.error$);
      const raw = await rawClient(server);
      raw.sendPacket({ action: 'chat', data: null, 'packet-created': Date.now(), token: null });
      const error = await raw.waitFor((f) => f.action === 'error', 'an error packet');
      expect(error.data).to.include({ code: 'ERR_HANDSHAKE_REQUIRED' });
      await raw.waitClosed();
      expect(errors.some((e) => e instanceof HandshakeError && e.code === 'ERR_HANDSHAKE_REQUIRED')).to.equal(true);
      expect(server.clients.size).to.equal(0);
    });

    it('refuses protocol 2 with ERR_PROTOCOL_VERSION, then closes', async () => {
      const server = await startServer();
      const raw = await rawClient(server);
      raw.sendPacket({ action: 'handshake', data: { protocol: 2 }, 'packet-created': Date.now(), token: null });
      const error = await raw.waitFor((f) => f.action === 'error', 'an error packet');
      expect(error.data).to.include({ code: 'ERR_PROTOCOL_VERSION' });
      await raw.waitClosed();
      expect(raw.frames.some((f) => f.action === 'handshake')).to.equal(false);
    });
  });

  describe('actions', () => {
    it('runs a function handler with data, packet and the sender connection', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const got = deferred<{ data: unknown; packet: Packet; connection: Connection }>();
      server.bindAction('chat', (data, packet, connection) => got.resolve({ data, packet, connection }));
      await client.sendPacket('chat', { text: 'hello' });
      const { data, packet, connection } = await withDeadline(got.promise, WAIT_MS, 'the chat handler');
      expect(data).to.deep.equal({ text: 'hello' });
      expect(packet).to.include({ action: 'chat', token: client.token });
      expect(connection).to.equal(server.getClient(client.token!));
    });

    it('runs a Bind subclass handler', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const got = deferred<string>();
      class TestAction extends Bind<{ text: string }> {
        run(data: { text: string }, _packet: Packet, connection: Connection): void {
          got.resolve(`${data.text} from ${connection.token}`);
        }
      }
      server.bindAction('test', new TestAction());
      await client.sendPacket('test', { text: 'hi' });
      expect(await withDeadline(got.promise, WAIT_MS, 'TestAction.run')).to.equal(`hi from ${client.token}`);
      expect(server.boundActions().get('test')).to.equal(1);
    });

    it('delivers server packets to client handlers, action$ and packets$', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const handled = deferred<unknown>();
      client.bindAction('news', (data) => handled.resolve(data));
      const viaAction = nextValue(client.action$('news'), WAIT_MS, 'client action$');
      const viaPackets = nextValue(client.packets$, WAIT_MS, 'client packets$');
      await server.getClient(client.token!)!.sendPacket('news', { headline: 'x' });
      expect(await withDeadline(handled.promise, WAIT_MS, 'the news handler')).to.deep.equal({ headline: 'x' });
      expect((await viaAction).packet).to.include({ action: 'news', token: client.token });
      expect((await viaPackets).packet.action).to.equal('news');
    });

    it('emits on server action$ and packets$ with the connection', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const viaAction = nextValue(server.action$('chat'), WAIT_MS, 'server action$');
      const viaPackets = nextValue(server.packets$, WAIT_MS, 'server packets$');
      await client.sendPacket('chat', { text: 'a' });
      const [a, p] = await Promise.all([viaAction, viaPackets]);
      expect(a.packet.data).to.deep.equal({ text: 'a' });
      expect(a.connection).to.equal(server.getClient(client.token!));
      expect(p.packet.action).to.equal('chat');
    });

    it('stops calling a handler after unsubscribe()', async () => {
      const server = await startServer();
      const client = await startClient(server);
      let calls = 0;
      const binding = server.bindAction('chat', () => void calls++);
      const barrier = deferred();
      server.bindAction('barrier', () => barrier.resolve());
      await client.sendPacket('chat', null);
      await client.sendPacket('barrier', null);
      await withDeadline(barrier.promise, WAIT_MS, 'the first barrier');
      expect(calls).to.equal(1);
      binding.unsubscribe();
      expect(binding.closed).to.equal(true);
      const second = deferred();
      server.bindAction('barrier2', () => second.resolve());
      await client.sendPacket('chat', null);
      await client.sendPacket('barrier2', null);
      await withDeadline(second.promise, WAIT_MS, 'the second barrier');
      // Packets on one connection arrive in order, so the chat packet was routed before barrier2.
      expect(calls).to.equal(1);
      expect(server.boundActions().has('chat')).to.equal(false);
    });

    it('keeps the connection and the server working after a handler throws', async () => {
      const server = await startServer();
      const errors = collect(server.error$);
      const client = await startClient(server);
      server.bindAction('boom', () => {
        throw new Error('handler exploded');
      });
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      await client.sendPacket('boom', null);
      const failed = await client.request('boom', null).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failed).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_HANDLER' });
      expect(await client.request('sum', { a: 2, b: 2 })).to.equal(4);
      expect(errors.filter((e) => e instanceof HandlerError)).to.have.length(2);
      expect(client.state).to.equal('connected');
      expect(server.clients.size).to.equal(1);
    });

    it('delivers 10,000 packets in order on one connection', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const total = 10_000;
      const received: number[] = [];
      const all = deferred();
      server.bindAction('seq', ({ n }: { n: number }) => {
        received.push(n);
        if (received.length === total) all.resolve();
      });
      const sends: Array<Promise<void>> = [];
      for (let n = 0; n < total; n++) sends.push(client.sendPacket('seq', { n }));
      await withDeadline(Promise.all(sends), 15_000, 'every send');
      await withDeadline(all.promise, 15_000, `${total} packets`);
      expect(received).to.have.length(total);
      for (let i = 0; i < total; i++) {
        if (received[i] !== i) expect.fail(`packet ${i} arrived as ${received[i]}`);
      }
    });

    it('counts packets and bytes on both connections', async () => {
      const server = await startServer();
      const client = await startClient(server);
      server.bindAction('echo', (data: unknown) => data);
      const serverSide = server.getClient(client.token!)!;
      const before = { ...serverSide.stats };
      expect(await client.request('echo', { text: 'x'.repeat(100) })).to.deep.equal({ text: 'x'.repeat(100) });
      const clientSide = client.connection!.stats;
      expect(serverSide.stats.packetsIn).to.equal(before.packetsIn + 1);
      expect(serverSide.stats.packetsOut).to.equal(before.packetsOut + 1);
      expect(serverSide.stats.bytesIn).to.be.greaterThan(before.bytesIn + 100);
      expect(serverSide.stats.bytesOut).to.be.greaterThan(before.bytesOut + 100);
      // The reply proves every byte each side sent has arrived.
      expect(serverSide.stats.bytesIn).to.equal(clientSide.bytesOut);
      expect(clientSide.bytesIn).to.equal(serverSide.stats.bytesOut);
      expect(client.stats()).to.include({ clients: 1, bytesOut: clientSide.bytesOut });
      expect(server.stats()).to.include({ clients: 1, bytesIn: serverSide.stats.bytesIn });
    });
  });

  describe('broadcast and tokens', () => {
    it('sends each client its own token only', async () => {
      const server = await startServer();
      const clients = await Promise.all([startClient(server), startClient(server), startClient(server)]);
      const raw = await rawClient(server);
      const rawToken = await raw.handshake();
      const received = clients.map((client) => nextValue(client.action$('news'), WAIT_MS, 'broadcast news'));
      expect(await server.broadcast('news', { headline: 'hello all' })).to.equal(4);
      const packets = await Promise.all(received);
      packets.forEach((envelope, i) => {
        expect(envelope.packet.token).to.equal(clients[i]!.token);
        expect(envelope.packet.data).to.deep.equal({ headline: 'hello all' });
      });
      const news = await raw.waitFor((f) => f.action === 'news', 'broadcast news on the raw socket');
      expect(news.token).to.equal(rawToken);
      const bytes = raw.bytes().toString('utf8');
      expect(bytes).to.include(rawToken);
      for (const client of clients) expect(bytes).not.to.include(client.token!);
    });

    it('broadcasts only to the clients a filter accepts', async () => {
      const server = await startServer();
      const [a, b] = await Promise.all([startClient(server), startClient(server)]);
      const got = deferred<unknown>();
      b.bindAction('news', (data) => got.resolve(data));
      let aCalls = 0;
      a.bindAction('news', () => void aCalls++);
      expect(await server.broadcast('news', 1, (c) => c.token === b.token)).to.equal(1);
      expect(await withDeadline(got.promise, WAIT_MS, 'news at b')).to.equal(1);
      // A round trip to a proves nothing was queued for it before.
      a.bindAction('ping-me', () => 'ok');
      expect(await server.getClient(a.token!)!.request('ping-me', null)).to.equal('ok');
      expect(aCalls).to.equal(0);
    });

    it('rejects a broadcast it cannot send to anyone (data that is not JSON, a frame too large) instead of resolving 0', async () => {
      const server = await startServer({ maxFrameBytes: 4096 });
      const client = await startClient(server);
      const unencodable = await server.broadcast('news', { n: 1n } as never).catch((err: unknown) => err);
      expect(unencodable).to.be.instanceOf(PacketError).with.property('code', 'ERR_PACKET_JSON');
      const tooLarge = await server.broadcast('news', 'x'.repeat(5000)).catch((err: unknown) => err);
      expect(tooLarge).to.be.instanceOf(FrameTooLargeError);
      const roomTooLarge = await server.to('lobby').broadcast('news', 'x'.repeat(5000)).catch((err: unknown) => err);
      expect(roomTooLarge, 'a room with no members still refuses what no member could receive').to.be.instanceOf(FrameTooLargeError);
      // What could be sent still is, after the refusals.
      const got = nextValue(client.action$('news'), WAIT_MS, 'news after the refusals');
      expect(await server.broadcast('news', 'ok')).to.equal(1);
      expect((await got).packet.data).to.equal('ok');
    });

    it('reports on error$ a broadcast nobody awaits that cannot be sent, instead of an unhandled rejection', async () => {
      const server = await startServer();
      await startClient(server);
      const errors = collect(server.error$);
      void server.broadcast('news', { n: 1n } as never);
      void server.to('lobby').broadcast('news', { n: 2n } as never);
      void server.broadcast('ping' as never, null as never);
      await until(() => errors.length >= 3, WAIT_MS, 'three reported broadcasts');
      expect(errors.map((error) => error.code).sort()).to.deep.equal(['ERR_PACKET_JSON', 'ERR_PACKET_JSON', 'ERR_RESERVED_ACTION']);
      // Awaited, the same failure goes to the caller only.
      const before = errors.length;
      expect(await server.broadcast('news', { n: 3n } as never).catch((err: unknown) => err)).to.be.instanceOf(PacketError);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).to.have.length(before);
    });

    it('broadcasts to a server with a custom codec in that codec, each client with its own token', async () => {
      const codec = { ...jsonCodec(), name: 'custom' };
      const server = await startServer({ codec });
      const clients = await Promise.all([startClient(server, { codec }), startClient(server, { codec })]);
      const received = clients.map((client) => nextValue(client.action$('news'), WAIT_MS, 'broadcast news'));
      expect(await server.broadcast('news', { n: 2 })).to.equal(2);
      const packets = await Promise.all(received);
      packets.forEach((envelope, i) => expect(envelope.packet).to.include({ token: clients[i]!.token, action: 'news' }));
    });

    it('refuses a spoofed token with ERR_TOKEN_MISMATCH, reports it, and never dispatches it', async () => {
      const server = await startServer();
      const errors = collect(server.error$);
      const victim = await startClient(server);
      const raw = await rawClient(server);
      const rawToken = await raw.handshake();
      const seen: Array<string | null> = [];
      server.bindAction('chat', (_data, packet) => void seen.push(packet.token));
      const allPackets = collect(server.packets$);

      raw.send('chat', { text: 'spoofed' }, { token: victim.token });
      const error = await raw.waitFor((f) => f.action === 'error', 'the token-mismatch error packet');
      expect(error.data).to.include({ code: 'ERR_TOKEN_MISMATCH' });
      expect(JSON.stringify(error)).not.to.include(victim.token!);

      // The connection stays open: a packet with its own token is dispatched after the refused one.
      const handled = nextValue(server.action$('chat'), WAIT_MS, 'the genuine chat');
      raw.send('chat', { text: 'genuine' });
      await handled;
      expect(seen).to.deep.equal([rawToken]);
      expect(allPackets.map((e) => e.packet.data)).to.deep.equal([{ text: 'genuine' }]);
      expect(errors.some((e) => e instanceof TokenMismatchError && e.code === 'ERR_TOKEN_MISMATCH')).to.equal(true);
      expect(raw.bytes().toString('utf8')).not.to.include(victim.token!);
    });
  });

  describe('requests', () => {
    let server: Server;
    let client: Client;
    beforeEach(async () => {
      server = await startServer();
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      server.bindAction('later', async ({ a, b }: { a: number; b: number }) => a * b);
      server.bindAction('stream', () => of('first', 'second'));
      server.bindAction('fails', () => {
        throw new ReplyError('E_FORBIDDEN', 'forbidden');
      });
      server.bindAction('plain-fail', () => Promise.reject(new Error('plain')));
      server.bindAction('never', () => new Observable<never>(() => undefined));
      client = await startClient(server);
    });

    it('resolves with the returned value, a Promise value and an Observable first value', async () => {
      expect(await client.request('sum', { a: 1, b: 2 })).to.equal(3);
      expect(await client.request('later', { a: 3, b: 4 })).to.equal(12);
      expect(await client.request('stream', null)).to.equal('first');
    });

    it('keeps concurrent requests apart', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request('sum', { a: i, b: 1000 })));
      expect(results).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1000));
    });

    it('rejects with RemoteError carrying the code of a ReplyError, or ERR_HANDLER', async () => {
      const custom = await client.request('fails', null).catch((err: unknown) => err);
      expect(custom).to.be.instanceOf(RemoteError).and.include({ code: 'ERR_REMOTE', remoteCode: 'E_FORBIDDEN', message: 'forbidden' });
      const plain = await client.request('plain-fail', null).catch((err: unknown) => err);
      expect(plain).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_HANDLER' });
    });

    it('rejects with RemoteError ERR_NO_HANDLER for an unbound action', async () => {
      const error = await client.request('missing', null).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_NO_HANDLER' });
    });

    it('rejects with RequestTimeoutError when no reply comes within timeoutMs (real timer)', async () => {
      const error = await withDeadline(
        client.request('never', null, { timeoutMs: 50 }).catch((err: unknown) => err),
        WAIT_MS,
        'the request timeout',
      );
      expect(error).to.be.instanceOf(RequestTimeoutError).and.include({ code: 'ERR_REQUEST_TIMEOUT', action: 'never', timeoutMs: 50 });
      expect(client.connection!.pendingRequests).to.equal(0);
    });

    it('rejects pending requests with ConnectionClosedError when the server stops', async () => {
      const pending = client.request('never', null, { timeoutMs: 10_000 }).catch((err: unknown) => err);
      const started = nextValue(server.action$('never'), WAIT_MS, 'the request to arrive');
      await started;
      await withDeadline(server.stop(), WAIT_MS, 'server.stop()');
      const error = await withDeadline(pending, WAIT_MS, 'the pending request to reject');
      expect(error).to.be.instanceOf(ConnectionClosedError).and.include({ code: 'ERR_CONNECTION_CLOSED' });
    });

    // Failed before: the reply was reported on the server's error$ only, and the request waited for its
    // timeout (RequestTimeoutError) although a stream in the same case fails at once.
    it('answers with an error when the reply cannot be sent (too large, not JSON), and reports it', async () => {
      server.bindAction('huge', () => 'z'.repeat(DEFAULTS.maxFrameBytes + 10));
      server.bindAction('bigint', async () => ({ n: 10n }));
      server.bindAction('huge-first', () => of('z'.repeat(DEFAULTS.maxFrameBytes + 10)));
      const reported = collect(server.error$);
      for (const [action, code] of [['huge', 'ERR_FRAME_TOO_LARGE'], ['bigint', 'ERR_PACKET_JSON'], ['huge-first', 'ERR_FRAME_TOO_LARGE']] as const) {
        const error = await client.request(action, null, { timeoutMs: 3_000 }).catch((err: unknown) => err);
        expect(error, action).to.be.instanceOf(RemoteError).and.include({ remoteCode: code });
      }
      expect(reported.map((e) => e.code)).to.include.members(['ERR_FRAME_TOO_LARGE', 'ERR_PACKET_JSON']);
      expect(await client.request('sum', { a: 1, b: 2 })).to.equal(3);
    });

    it('lets the server request from a client', async () => {
      client.bindAction('whoami', (_data, _packet, connection) => connection.token);
      expect(await server.getClient(client.token!)!.request('whoami', null)).to.equal(client.token);
    });
  });

  describe('send-side checks', () => {
    it('rejects a reserved action with ReservedActionError', async () => {
      const server = await startServer();
      const client = await startClient(server);
      for (const action of ['ping', 'handshake', 'reply', 'error', 'closing']) {
        const error = await client.sendPacket(action, null).catch((err: unknown) => err);
        expect(error, action).to.be.instanceOf(ReservedActionError).and.include({ code: 'ERR_RESERVED_ACTION', action });
      }
      const requested = await client.request('ping', null).catch((err: unknown) => err);
      expect(requested).to.be.instanceOf(ReservedActionError);
      expect(() => server.bindAction('ping', () => undefined)).to.throw(ReservedActionError);
    });

    it('rejects a payload over maxFrameBytes with FrameTooLargeError and stays connected', async () => {
      const server = await startServer();
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      const client = await startClient(server, { maxFrameBytes: 1024 });
      const error = await client.sendPacket('big', 'x'.repeat(2000)).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(FrameTooLargeError).and.include({ code: 'ERR_FRAME_TOO_LARGE', limit: 1024 });
      expect(await client.request('sum', { a: 1, b: 1 })).to.equal(2);
    });
  });

  describe('malformed input', () => {
    it('closes a connection whose frame declares more than maxFrameBytes, with ERR_FRAME_TOO_LARGE, and keeps serving others', async () => {
      const server = await startServer({ maxFrameBytes: 1024 });
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      const errors = collect(server.error$);
      const raw = await rawClient(server);
      await raw.handshake();
      const header = Buffer.alloc(4);
      header.writeUInt32BE(1025, 0);
      raw.sendRaw(header);
      const error = await raw.waitFor((f) => f.action === 'error', 'the frame-too-large error');
      expect(error.data).to.include({ code: 'ERR_FRAME_TOO_LARGE' });
      await raw.waitClosed();
      expect(errors.some((e) => e instanceof FrameTooLargeError)).to.equal(true);
      const other = await startClient(server);
      expect(await other.request('sum', { a: 20, b: 22 })).to.equal(42);
    });

    it('survives a reset from a peer it is closing after a fatal error', async () => {
      // The pipeline is gone while the socket waits closeTimeoutMs; a reset then must not crash the process.
      const server = await startServer({ closeTimeoutMs: 10_000 });
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      const raw = await rawClient(server);
      raw.sendRaw(Buffer.from('ffffffff', 'hex'));
      await raw.waitFor((f) => f.action === 'error', 'the frame-too-large error');
      raw.socket.resetAndDestroy();
      await raw.waitClosed();
      const other = await startClient(server);
      expect(await other.request('sum', { a: 1, b: 1 })).to.equal(2);
    });

    it('limits the first frame, before the handshake, to maxHandshakeBytes', async () => {
      const server = await startServer({ maxHandshakeBytes: 1024 });
      const raw = await rawClient(server);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(1025, 0);
      raw.sendRaw(header);
      const error = await raw.waitFor((f) => f.action === 'error', 'the frame-too-large error');
      expect(error.data).to.include({ code: 'ERR_FRAME_TOO_LARGE' });
      // Failed before: the message named maxFrameBytes, the limit of every later frame.
      expect((error.data as { message: string }).message).to.equal('frame of 1025 bytes exceeds maxHandshakeBytes 1024');
      await raw.waitClosed();
    });

    it('refuses invalid JSON after the handshake with ERR_PACKET_JSON and keeps the connection open', async () => {
      const server = await startServer();
      server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
      const raw = await rawClient(server);
      await raw.handshake();
      raw.sendFrame('{"action": "sum", oops');
      const error = await raw.waitFor((f) => f.action === 'error', 'the ERR_PACKET_JSON error');
      expect(error.data).to.include({ code: 'ERR_PACKET_JSON' });
      raw.send('sum', { a: 1, b: 2 }, { id: 1 });
      const reply = await raw.waitFor((f) => f.action === 'reply' && f.id === 1, 'the reply to request 1');
      expect(reply.data).to.equal(3);
      expect(raw.hasClosed).to.equal(false);
    });
  });

  describe('stop() during traffic', () => {
    const payload = 'p'.repeat(1000);

    it('loses no client→server packet whose sendPacket resolved', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const received = new Set<number>();
      server.bindAction('seq', ({ n }: { n: number }) => void received.add(n));
      const resolved = new Set<number>();
      const sends: Array<Promise<void>> = [];
      const send = (n: number): void => {
        sends.push(client.sendPacket('seq', { n, payload }).then(() => void resolved.add(n), () => undefined));
      };
      let n = 0;
      for (; n < 3000; n++) send(n);
      const stopping = client.stop();
      for (; n < 4000; n++) send(n);
      const left = nextValue(server.disconnect$, WAIT_MS, 'the client to leave the server');
      await withDeadline(stopping, WAIT_MS, 'client.stop()');
      await left;
      await withDeadline(Promise.all(sends), WAIT_MS, 'every send to settle');
      expect(resolved.size).to.be.greaterThan(0);
      const lost = [...resolved].filter((i) => !received.has(i));
      expect(lost, `${lost.length} resolved packets never arrived (first: ${lost.slice(0, 5).join(', ')})`).to.deep.equal([]);
      expect(received.size).to.be.at.least(resolved.size);
    });

    it('loses no server→client packet whose sendPacket resolved', async () => {
      const server = await startServer();
      const client = await startClient(server);
      const received = new Set<number>();
      client.bindAction('seq', ({ n }: { n: number }) => void received.add(n));
      const connection = server.getClient(client.token!)!;
      const clientSide = client.connection!;
      const resolved = new Set<number>();
      const sends: Array<Promise<void>> = [];
      const send = (n: number): void => {
        sends.push(connection.sendPacket('seq', { n, payload }).then(() => void resolved.add(n), () => undefined));
      };
      let n = 0;
      for (; n < 3000; n++) send(n);
      const stopping = server.stop();
      for (; n < 4000; n++) send(n);
      await withDeadline(stopping, WAIT_MS, 'server.stop()');
      await withDeadline(clientSide.closed, WAIT_MS, 'the client connection to close');
      await withDeadline(Promise.all(sends), WAIT_MS, 'every send to settle');
      expect(resolved.size).to.be.greaterThan(0);
      const lost = [...resolved].filter((i) => !received.has(i));
      expect(lost, `${lost.length} resolved packets never arrived (first: ${lost.slice(0, 5).join(', ')})`).to.deep.equal([]);
      expect(received.size).to.be.at.least(resolved.size);
    });
  });

  it('reports errors as PnetworkError instances with a code', async () => {
    const server = await startServer();
    const errors: PnetworkError[] = collect(server.error$);
    const raw = await rawClient(server);
    await raw.handshake();
    raw.send('x', null, { token: 'wrong' });
    await raw.waitFor((f) => f.action === 'error', 'an error packet');
    await until(() => errors.length > 0, WAIT_MS, 'error$');
    expect(errors[0]!.code).to.equal('ERR_TOKEN_MISMATCH');
  });
});
