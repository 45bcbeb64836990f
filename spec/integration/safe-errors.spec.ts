import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import { Client } from '../../lib/client.js';
import { HandlerError, NoHandlerError, PacketError, RemoteError, ReplyError, RequestTimeoutError, type PnetworkError } from '../../lib/errors.js';
import { Server } from '../../lib/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { until, withDeadline } from '../helpers/wait.js';

const WAIT_MS = 5000;
const HEX16 = /^[0-9a-f]{16}$/;

describe('integration: errors the peer sees, and errors that name their connection', () => {
  let server: Server;
  let client: Client;
  let errors: PnetworkError[];
  let subscription: Subscription;

  beforeEach(async () => {
    server = new Server({ port: 0 });
    errors = [];
    subscription = server.error$.subscribe((error) => errors.push(error));
    server.bindAction('leaks', () => {
      throw new Error('db password wrong for host 10.1.2.3');
    });
    server.bindAction('refused', () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' })));
    server.bindAction('public', () => {
      throw new ReplyError('APP_LIMIT', 'limit is 100');
    });
    server.bindAction('nested', () => {
      throw new HandlerError('inner', new Error('inner secret'));
    });
    server.bindAction('upstream', () => Promise.reject(new RequestTimeoutError('internal-billing', 10)));
    // Values String() cannot turn into text: a null prototype, a toString that is not a function.
    server.bindAction('odd-reject', () => Promise.reject(Object.create(null)));
    server.bindAction('odd-throw', () => {
      throw { toString: 1 };
    });
    await server.start();
    client = new Client({ port: server.address().port, reconnect: false });
    await withDeadline(client.start(), WAIT_MS, 'client.start()');
  });

  afterEach(async () => {
    subscription.unsubscribe();
    await client.stop();
    await server.stop();
  });

  const failure = (action: string): Promise<RemoteError> =>
    withDeadline(
      client.request(action, null).then(
        () => {
          throw new Error(`${action} should have failed`);
        },
        (err: unknown) => err as RemoteError,
      ),
      WAIT_MS,
      action,
    );

  it('sends ERR_HANDLER with a generic message for a plain Error, keeping its message local', async () => {
    const error = await failure('leaks');
    expect(error).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_HANDLER', message: 'handler for "leaks" failed' });
    expect(error.message).not.to.include('password');
    await until(() => errors.length === 1, WAIT_MS, 'the error on error$');
    expect(errors[0]).to.be.instanceOf(HandlerError);
    expect(errors[0]!.message).to.include('db password wrong');
  });

  it('does not pass on the string code of a Node error such as ECONNREFUSED', async () => {
    const error = await failure('refused');
    expect(error).to.include({ remoteCode: 'ERR_HANDLER', message: 'handler for "refused" failed' });
    expect(error.message).not.to.include('10.1.2.3');
  });

  it('sends the code and message of a ReplyError', async () => {
    const error = await failure('public');
    expect(error).to.include({ remoteCode: 'APP_LIMIT', message: 'limit is 100' });
  });

  it('hides the inner message of a HandlerError and internal errors such as a timed-out upstream request', async () => {
    const nested = await failure('nested');
    expect(nested).to.include({ remoteCode: 'ERR_HANDLER', message: 'handler for "nested" failed' });
    const upstream = await failure('upstream');
    expect(upstream).to.include({ remoteCode: 'ERR_HANDLER', message: 'handler for "upstream" failed' });
    expect(upstream.message).not.to.include('billing');
  });

  it('answers ERR_HANDLER for a handler that rejects or throws a value String() cannot show, reports it, and keeps the connection', async () => {
    for (const action of ['odd-reject', 'odd-throw']) {
      const error = await failure(action);
      expect(error, action).to.include({ remoteCode: 'ERR_HANDLER', message: `handler for "${action}" failed` });
    }
    await until(() => errors.length === 2, WAIT_MS, 'both failures on error$');
    expect(errors.map((error) => error.constructor)).to.deep.equal([HandlerError, HandlerError]);
    expect(errors[0]!.message).to.equal('handler for "odd-reject" failed: an object');
    expect(client.state).to.equal('connected');
  });

  it('gives each connection a random 16-hex-digit id that shares nothing with its token', async () => {
    const second = new Client({ port: server.address().port, reconnect: false });
    await withDeadline(second.start(), WAIT_MS, 'second client');
    try {
      await until(() => server.clients.size === 2, WAIT_MS, 'two registered clients');
      const ids = [...server.clients.values()].map((connection) => connection.id);
      const local = [client.connection!.id, second.connection!.id];
      for (const id of [...ids, ...local]) expect(id).to.match(HEX16);
      expect(new Set([...ids, ...local]).size).to.equal(4);
      for (const connection of server.clients.values()) {
        const hex = connection.token.replace(/-/g, '');
        // Any 8 hex digits of the id found in the token would mean they are related (chance: about 1 in 20 million).
        for (let i = 0; i + 8 <= connection.id.length; i++) expect(hex).not.to.include(connection.id.slice(i, i + 8));
      }
    } finally {
      await second.stop();
    }
  });

  it('names the connection (id and address) on the errors error$ reports', async () => {
    await failure('leaks');
    await failure('unbound');
    await until(() => errors.length === 2, WAIT_MS, 'two errors');
    const [connection] = [...server.clients.values()];
    expect(errors[0]).to.be.instanceOf(HandlerError);
    expect(errors[1]).to.be.instanceOf(NoHandlerError);
    for (const error of errors) expect(error).to.include({ connectionId: connection!.id, remoteAddress: connection!.remoteAddress });
  });

  it('names the connection on a refused packet, and the client names its own on errors it reports', async () => {
    const raw = await RawClient.connect(server.address().port);
    try {
      await raw.handshake();
      raw.send('bad', null, { extra: 1 });
      await until(() => errors.some((e) => e instanceof PacketError), WAIT_MS, 'the refused packet on error$');
      const refused = errors.find((e) => e instanceof PacketError)!;
      const connection = [...server.clients.values()].find((c) => c.token === raw.token)!;
      expect(refused).to.include({ connectionId: connection.id, remoteAddress: connection.remoteAddress });
    } finally {
      await raw.destroy();
    }
    const clientErrors: PnetworkError[] = [];
    const sub = client.error$.subscribe((error) => clientErrors.push(error));
    try {
      const [connection] = [...server.clients.values()];
      await connection!.sendPacket('no-such-handler-on-the-client', null);
      void connection!.sendControl({ action: 'error', data: { code: 'X', message: 'unsolicited' }, 'packet-created': Date.now(), token: connection!.token });
      await until(() => clientErrors.length > 0, WAIT_MS, 'the client error$');
      expect(clientErrors[0]).to.include({ connectionId: client.connection!.id });
      expect(client.connection!.id).to.match(HEX16);
    } finally {
      sub.unsubscribe();
    }
  });
});
