// Compile-time checks of Server<ClientActions, ServerActions, Data, Auth>: `npm run typecheck` fails if
// any `@ts-expect-error` below stops catching its mistake. One small run checks the same code works.
import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import type { Connection } from '../../lib/connection.js';
import { Server } from '../../lib/server.js';
import type { ServerConnection } from '../../lib/server-connection.js';
import { withDeadline } from '../helpers/wait.js';

/** True only when A and B are the same type. */
type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when its type argument is `true`. */
const assertType = <_T extends true>(): void => undefined;

interface ClientActions {
  say(d: { text: string }): void;
}
interface ServerActions {
  said(d: { from: string; text: string }): void;
}
interface Data {
  user: string;
  joinedAt?: number;
}
interface Auth {
  user: string;
  password: string;
}

describe('integration: typed connections (data, auth, rooms)', () => {
  it('types data, auth, middleware and room broadcasts end to end', async () => {
    const server = new Server<ClientActions, ServerActions, Data, Auth>({ port: 0 });
    server.use((connection, auth) => {
      assertType<Equals<typeof auth, Auth | undefined>>();
      assertType<Equals<typeof connection, ServerConnection<ClientActions, ServerActions, Data, Auth>>>();
      if (auth?.password !== 'pw') throw new Error('refused');
      connection.data.user = auth.user;
      connection.subject = auth.user;
      connection.join('chat');
    });
    server.bindAction('say', async ({ text }, _packet, connection) => {
      assertType<Equals<typeof connection.data, Data>>();
      assertType<Equals<typeof connection.auth, Auth | undefined>>();
      await server.to('chat').broadcast('said', { from: connection.data.user, text });
    });
    const neverCalled = (): void => {
      server.use((connection, auth) => {
        // @ts-expect-error: data.user is a string
        connection.data.user = 42;
        // @ts-expect-error: Data has no such key
        void connection.data.nickname;
        // @ts-expect-error: Auth has no such key
        void auth?.token;
        // @ts-expect-error: auth may be absent: a client may send none
        void auth.user;
        // @ts-expect-error: the subject is a string, never the credential object
        connection.subject = auth;
      });
      // @ts-expect-error: said takes { from, text }
      void server.to('chat').broadcast('said', { text: 'x' });
      // @ts-expect-error: 'say' is a client action; the server does not send it
      void server.to('chat').except('muted').broadcast('say', { text: 'x' });
      // @ts-expect-error: room names are strings
      server.to(1);
      // @ts-expect-error: the client's auth must have the server's Auth shape
      new Client<ClientActions, ServerActions, Auth>({ auth: { user: 'ann' } });
      // @ts-expect-error: an auth function must return (a Promise of) Auth
      new Client<ClientActions, ServerActions, Auth>({ auth: async () => ({ user: 'ann', pass: 'x' }) });
      const clientSide = null as unknown as Connection<ServerActions, ClientActions>;
      // @ts-expect-error: rooms are a server-side idea; a client's connection has none
      clientSide.join('chat');
    };
    void neverCalled;

    await server.start();
    const client = new Client<ClientActions, ServerActions, Auth>({ port: server.address().port, auth: async () => ({ user: 'ann', password: 'pw' }) });
    const heard = new Promise<string>((resolve) => client.bindAction('said', ({ from, text }) => resolve(`${from}: ${text}`)));
    try {
      await withDeadline(client.start(), 5000, 'start');
      await client.sendPacket('say', { text: 'hello' });
      expect(await withDeadline(heard, 5000, 'said')).to.equal('ann: hello');
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
