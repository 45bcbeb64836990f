import { expect } from 'chai';
import { Client, type ClientOptions } from '../../lib/client.js';
import { AuthProviderError, ConnectionClosedError, ConnectionRefusedError, NotConnectedError, RemoteError, ReplyError, UnauthorizedError, type PnetworkError } from '../../lib/errors.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import type { ServerConnection } from '../../lib/server-connection.js';
import type { RawClient } from '../helpers/raw-client.js';
import { deferred, until, withDeadline } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

const WAIT_MS = 5000;
const SECRET = 's3cret-credential-value';

interface Credentials {
  user: string;
  password: string;
}

describe('integration: handshake auth and middleware', () => {
  const scope = specScope(WAIT_MS);
  const { cleanups, collect } = scope;

  function startServer(options: ServerOptions = {}): Promise<Server<any, any, { user?: string }, Credentials>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return scope.started(new Server<any, any, { user?: string }, Credentials>({ port: 0, ...options })); // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  function newClient(server: Server<any, any, any, any>, options: ClientOptions<Credentials> = {}): Client<any, any, Credentials> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return scope.own(new Client<any, any, Credentials>({ port: server.address().port, reconnectDelayMs: 10, ...options })); // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  function rawClient(server: Server<any, any, any, any>): Promise<RawClient> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return scope.rawClient(server.address().port);
  }

  /** Accepts ann/pw only; names the subject. */
  function checkPassword(connection: ServerConnection<any, any, { user?: string }, Credentials>, auth: Credentials | undefined): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (auth?.user !== 'ann' || auth.password !== SECRET) throw new Error(`bad password for ${String(auth?.user)}`);
    connection.subject = auth.user;
    connection.data.user = auth.user;
  }

  it('accepts a good credential: middleware sees it, connection.auth holds it, and the server never echoes it', async () => {
    const server = await startServer();
    server.use(checkPassword);
    const connections = collect(server.connection$);
    const client = newClient(server, { auth: { user: 'ann', password: SECRET } });
    await withDeadline(client.start(), WAIT_MS, 'start');
    await until(() => connections.length === 1, WAIT_MS, 'connection$');
    const [connection] = connections;
    expect(connection!.auth).to.deep.equal({ user: 'ann', password: SECRET });
    expect(connection!.subject).to.equal('ann');
    expect(connection!.data).to.deep.equal({ user: 'ann' });
    expect(server.clients.size).to.equal(1);
    // The credential stays out of what a connection shows of itself.
    expect(JSON.stringify(Object.keys(connection!))).to.not.include('auth');
    expect((await import('node:util')).inspect(connection, { depth: 4 })).to.not.include(SECRET);
    // And out of everything the server sends.
    const raw = await rawClient(server);
    raw.sendPacket({ action: 'handshake', data: { protocol: 1, auth: { user: 'ann', password: SECRET } }, 'packet-created': Date.now(), token: null });
    await raw.waitFor((frame) => frame.action === 'handshake', 'handshake reply');
    expect(raw.bytes().toString('utf8')).to.not.include(SECRET);
  });

  it('refuses a wrong credential with ERR_UNAUTHORIZED: start() rejects, no retry, never in clients or connection$', async () => {
    const server = await startServer();
    server.use(checkPassword);
    const connections = collect(server.connection$);
    const errors = collect<PnetworkError>(server.error$);
    const client = newClient(server, { auth: { user: 'ann', password: 'wrong' } });
    const error = await withDeadline(client.start(), WAIT_MS, 'start').then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(ConnectionRefusedError);
    expect(error).to.be.instanceOf(RemoteError);
    expect((error as ConnectionRefusedError).remoteCode).to.equal('ERR_UNAUTHORIZED');
    expect((error as ConnectionRefusedError).message).to.equal('connection refused');
    expect(client.state).to.equal('closed');
    expect(client.token).to.equal(null);
    expect(connections).to.deep.equal([]);
    expect(server.clients.size).to.equal(0);
    // The server reports the refusal with what the middleware threw as its cause.
    await until(() => errors.length === 1, WAIT_MS, 'error$');
    expect(errors[0]).to.be.instanceOf(UnauthorizedError);
    expect(((errors[0] as UnauthorizedError).cause as Error).message).to.equal('bad password for ann');
    expect(Object.fromEntries(server.refusals())).to.deep.equal({ ERR_UNAUTHORIZED: 1 });
  });

  it('sends a refused peer exactly one error packet with retry: false and token null, never a token, then closes', async () => {
    const server = await startServer();
    server.use(checkPassword);
    const raw = await rawClient(server);
    raw.sendPacket({ action: 'handshake', data: { protocol: 1, auth: { user: 'eve', password: 'guess' } }, 'packet-created': Date.now(), token: null });
    await raw.waitClosed(WAIT_MS);
    expect(raw.frames).to.have.length(1);
    expect(raw.frames[0]).to.include({ action: 'error', token: null });
    expect(raw.frames[0]!.data).to.deep.equal({ code: 'ERR_UNAUTHORIZED', message: 'connection refused', retry: false });
    // The middleware's own message (it names the user) is not sent.
    expect(raw.bytes().toString('utf8')).to.not.include('bad password');
  });

  it('lets the peer see only ERR_UNAUTHORIZED when a middleware throws a non-public error', async () => {
    const server = await startServer();
    server.use(async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:5432 (user db_admin)');
    });
    const raw = await rawClient(server);
    raw.sendPacket({ action: 'handshake', data: { protocol: 1 }, 'packet-created': Date.now(), token: null });
    await raw.waitClosed(WAIT_MS);
    expect(raw.frames.map((frame) => frame.data)).to.deep.equal([{ code: 'ERR_UNAUTHORIZED', message: 'connection refused', retry: false }]);
    expect(raw.bytes().toString('utf8')).to.not.include('db_admin');
  });

  it("refuses with a ReplyError's own code and message", async () => {
    const server = await startServer();
    server.use(() => {
      throw new ReplyError('ERR_BANNED', 'this account is banned');
    });
    const client = newClient(server);
    const error = (await client.start().catch((err: unknown) => err)) as ConnectionRefusedError;
    expect(error).to.be.instanceOf(ConnectionRefusedError);
    expect(error.remoteCode).to.equal('ERR_BANNED');
    expect(error.message).to.equal('this account is banned');
    expect(Object.fromEntries(server.refusals())).to.deep.equal({ ERR_BANNED: 1 });
  });

  it("refuses with a ReplyError's message cut to 1,024 characters when it is longer: the refusal still fits the client's first-frame limit", async () => {
    const server = await startServer();
    const long = 'why '.repeat(25_000);
    server.use(() => {
      throw new ReplyError('ERR_BANNED', long);
    });
    const client = newClient(server);
    const error = (await client.start().catch((err: unknown) => err)) as ConnectionRefusedError;
    expect(error).to.be.instanceOf(ConnectionRefusedError);
    expect(error.remoteCode).to.equal('ERR_BANNED');
    expect(error.message).to.equal(`${long.slice(0, 1_023)}…`);
  });

  it('refuses a connection whose middleware outlasts the handshake timeout (ERR_MIDDLEWARE_TIMEOUT, retryable)', async () => {
    const server = await startServer({ handshakeTimeoutMs: 200 });
    const stuck = deferred();
    cleanups.push(() => stuck.resolve());
    server.use(() => stuck.promise);
    const connections = collect(server.connection$);
    const client = newClient(server);
    const error = (await withDeadline(client.start(), WAIT_MS, 'start').catch((err: unknown) => err)) as RemoteError;
    expect(error).to.be.instanceOf(RemoteError);
    expect(error).to.not.be.instanceOf(ConnectionRefusedError);
    expect(error.remoteCode).to.equal('ERR_MIDDLEWARE_TIMEOUT');
    // Accepting after the deadline changes nothing.
    stuck.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(connections).to.deep.equal([]);
    expect(server.clients.size).to.equal(0);
    expect(Object.fromEntries(server.refusals())).to.deep.equal({ ERR_MIDDLEWARE_TIMEOUT: 1 });
  });

  it('runs middleware in order and registers the connection only after the last accepts', async () => {
    const server = await startServer();
    const order: string[] = [];
    const gate = deferred();
    server.use(() => {
      order.push('first');
    });
    server.use(async (connection) => {
      order.push(`second clients=${server.clients.size} token=${JSON.stringify(connection.token)}`);
      connection.join('members');
      await gate.promise;
    });
    server.use(() => {
      order.push('third');
    });
    const client = newClient(server);
    const started = client.start();
    await until(() => order.length === 2, WAIT_MS, 'second middleware');
    // Joined in middleware, but not in the room until admitted.
    expect(server.rooms.counts().size).to.equal(0);
    gate.resolve();
    await withDeadline(started, WAIT_MS, 'start');
    expect(order).to.deep.equal(['first', 'second clients=0 token=""', 'third']);
    expect(Object.fromEntries(server.rooms.counts())).to.deep.equal({ members: 1 });
  });

  describe('sends made by middleware, before the connection is admitted', () => {
    it('wait for admission: the client gets them after its handshake, in order, and a request is answered', async () => {
      const server = await startServer();
      const results: unknown[] = [];
      server.use((connection) => {
        void connection.sendPacket('welcome', 1);
        connection.request('whoami', null).then(
          (reply) => results.push(reply),
          (err: unknown) => results.push(err),
        );
        void connection.sendPacket('welcome', 2);
      });
      server.connection$.subscribe((connection) => void connection.sendPacket('welcome', 3));
      const errors = collect(server.error$);
      const client = newClient(server);
      const welcomes: unknown[] = [];
      client.action$('welcome').subscribe(({ packet }) => welcomes.push(packet.data));
      client.bindAction('whoami', () => 'ann');
      await withDeadline(client.start(), WAIT_MS, 'start');
      await until(() => welcomes.length === 3 && results.length === 1, WAIT_MS, 'the held sends and the reply');
      expect(welcomes).to.deep.equal([1, 2, 3]);
      expect(results).to.deep.equal(['ann']);
      expect(errors).to.deep.equal([]);
    });

    it('of a connection that is refused reject with ConnectionClosedError; a stream fails with NotConnectedError', async () => {
      const server = await startServer();
      const outcomes: unknown[] = [];
      server.use((connection) => {
        connection.sendPacket('welcome', 1).then(
          () => outcomes.push('sent'),
          (err: unknown) => outcomes.push(err),
        );
        connection.stream('feed', null).subscribe({ error: (err: unknown) => outcomes.push(err) });
        throw new UnauthorizedError('no entry');
      });
      const client = newClient(server);
      const welcomes: unknown[] = [];
      client.action$('welcome').subscribe(({ packet }) => welcomes.push(packet.data));
      const error = await withDeadline(client.start(), WAIT_MS, 'start').catch((err: unknown) => err);
      expect(error).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_UNAUTHORIZED' });
      await until(() => outcomes.length === 2, WAIT_MS, 'both outcomes');
      expect(outcomes[0]).to.be.instanceOf(NotConnectedError);
      expect((outcomes[0] as Error).message).to.include('admitted');
      expect(outcomes[1]).to.be.instanceOf(ConnectionClosedError);
      expect(welcomes).to.deep.equal([]);
    });
  });

  it('calls an auth function again on every reconnect, and sends what it returns then', async () => {
    const server = await startServer();
    const seen: string[] = [];
    server.use((_connection, auth) => {
      seen.push(auth!.password);
    });
    let calls = 0;
    const client = newClient(server, {
      auth: async () => {
        calls++;
        return { user: 'ann', password: `fresh-${calls}` };
      },
    });
    await withDeadline(client.start(), WAIT_MS, 'start');
    const [connection] = [...server.clients.values()];
    await connection!.close('rotate credentials');
    await until(() => client.state === 'connected' && seen.length === 2, WAIT_MS, 'reconnection');
    expect(calls).to.equal(2);
    expect(seen).to.deep.equal(['fresh-1', 'fresh-2']);
  });

  it('stops reconnecting when a reconnection is refused, unless retryRefused is set', async () => {
    const server = await startServer();
    let open = true;
    server.use(() => {
      if (!open) throw new ReplyError('ERR_CLOSED_FOR_MAINTENANCE', 'come back later');
    });
    const client = newClient(server);
    const errors = collect<PnetworkError>(client.error$);
    await withDeadline(client.start(), WAIT_MS, 'start');
    open = false;
    await [...server.clients.values()][0]!.close('maintenance');
    await until(() => client.state === 'closed', WAIT_MS, 'the client to give up');
    expect(errors.map((err) => (err as RemoteError).remoteCode)).to.deep.equal(['ERR_CLOSED_FOR_MAINTENANCE']);

    open = true;
    const retrying = newClient(server, { retryRefused: true });
    const attempts = collect(retrying.reconnectAttempt$);
    await withDeadline(retrying.start(), WAIT_MS, 'start');
    open = false;
    await [...server.clients.values()][0]!.close('maintenance');
    await until(() => attempts.length >= 3, WAIT_MS, 'repeated attempts');
    expect(retrying.state).to.equal('reconnecting');
    open = true;
    await until(() => retrying.state === 'connected', WAIT_MS, 'reconnection once admitted');
  });

  it('rejects start() with AuthProviderError when the auth function fails, sending nothing', async () => {
    const server = await startServer();
    const connections = collect(server.connection$);
    const client = newClient(server, {
      auth: () => {
        throw new Error('keychain locked');
      },
    });
    const error = await client.start().catch((err: unknown) => err);
    expect(error).to.be.instanceOf(AuthProviderError);
    expect((error as AuthProviderError).code).to.equal('ERR_AUTH_PROVIDER');
    expect(client.state).to.equal('closed');
    expect(connections).to.deep.equal([]);
  });

  describe('an auth function that never settles', () => {
    it('fails the attempt after handshakeTimeoutMs with AuthProviderError, opening no socket', async () => {
      const server = await startServer();
      const connections = collect(server.connection$);
      const clock = new VirtualClock();
      let asked = 0;
      const client = newClient(server, {
        scheduler: clock,
        reconnect: false,
        handshakeTimeoutMs: 3_000,
        auth: () => {
          asked++;
          return new Promise<Credentials>(() => undefined);
        },
      });
      const started = client.start().catch((err: unknown) => err);
      await until(() => asked === 1, WAIT_MS, 'the auth function to be called');
      clock.advance(2_999);
      clock.advance(1);
      const error = await withDeadline(started, WAIT_MS, 'start()');
      expect(error).to.be.instanceOf(AuthProviderError);
      expect((error as Error).message).to.equal('the auth function failed: it did not settle within 3000 ms (handshakeTimeoutMs)');
      expect(client.state).to.equal('closed');
      expect(connections).to.deep.equal([]);
      expect(clock.pending, 'timers left').to.equal(0);
    });

    it('is given up at once by stop(): start() rejects with ConnectionClosedError and the reason', async () => {
      const server = await startServer();
      const clock = new VirtualClock();
      let asked = 0;
      const client = newClient(server, {
        scheduler: clock,
        auth: () => {
          asked++;
          return new Promise<Credentials>(() => undefined);
        },
      });
      const started = client.start().catch((err: unknown) => err);
      await until(() => asked === 1, WAIT_MS, 'the auth function to be called');
      await withDeadline(client.stop('user gave up'), WAIT_MS, 'stop()');
      const error = await withDeadline(started, WAIT_MS, 'start()');
      expect(error).to.be.instanceOf(ConnectionClosedError);
      expect((error as Error).message).to.include('user gave up');
      expect(clock.pending, 'timers left').to.equal(0);
    });
  });

  it('fails the attempt at once when the auth value cannot be encoded', async () => {
    const server = await startServer();
    const client = new Client({ port: server.address().port, auth: { big: 1n } as never });
    cleanups.push(() => client.stop());
    const error = await withDeadline(client.start(), WAIT_MS, 'start').catch((err: unknown) => err);
    expect((error as PnetworkError).code).to.equal('ERR_PACKET_JSON');
  });
});
