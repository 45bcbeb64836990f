// Compile-time checks of typed action maps. `npx tsc --noEmit -p .` is part of the test command: every
// `@ts-expect-error` below fails the typecheck if the types ever stop catching that mistake.
import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { Server } from '../../lib/server.js';
import type { Stream } from '../../lib/types.js';
import { lastValueFrom, of, range, reduce, toArray, type Observable } from 'rxjs';
import { withDeadline } from '../helpers/wait.js';

/** Compiles only when `value` is assignable to T; pair with assertType<Equals<...>> for an exact check. */
function expectType<T>(value: T): T {
  return value;
}

/** True only when A and B are the same type (any is not the same as number). */
type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when its type argument is `true`. */
const assertType = <_T extends true>(): void => undefined;

interface ClientActions {
  chat(d: { text: string }): void;
  sum(d: { a: number; b: number }): number;
}

interface ServerActions {
  news(d: { headline: string }): void;
  whoami(d: null): string;
}

const WAIT_MS = 5000;

describe('integration: typed action maps', () => {
  let server: Server<ClientActions, ServerActions>;
  let client: Client<ClientActions, ServerActions>;

  beforeEach(async () => {
    server = new Server<ClientActions, ServerActions>({ port: 0 });
    await server.start();
    client = new Client<ClientActions, ServerActions>({ port: server.address().port });
    await withDeadline(client.start(), WAIT_MS, 'client.start()');
  });

  afterEach(async () => {
    await withDeadline(client.stop(), WAIT_MS, 'client.stop()');
    await withDeadline(server.stop(), WAIT_MS, 'server.stop()');
  });

  it('types request replies by the action map: sum resolves 3 as a number', async () => {
    server.bindAction('sum', (data) => {
      assertType<Equals<typeof data, { a: number; b: number }>>();
      return data.a + data.b;
    });
    const result = await client.request('sum', { a: 1, b: 2 });
    expectType<number>(result);
    assertType<Equals<typeof result, number>>();
    expect(result).to.equal(3);
  });

  it('types handler data on both sides and delivers it', async () => {
    let text = '';
    const arrived = new Promise<void>((resolve) =>
      server.bindAction('chat', (data, packet) => {
        assertType<Equals<typeof data, { text: string }>>();
        expect(packet.action).to.equal('chat');
        assertType<Equals<typeof packet.action, 'chat'>>();
        text = data.text;
        resolve();
      }),
    );
    client.bindAction('whoami', (data, _packet, connection) => {
      assertType<Equals<typeof data, null>>();
      return connection.token;
    });
    await client.sendPacket('chat', { text: 'typed' });
    await withDeadline(arrived, WAIT_MS, 'the chat handler');
    expect(text).to.equal('typed');
    const who = await server.getClient(client.token!)!.request('whoami', null);
    expectType<string>(who);
    expect(who).to.equal(client.token);
  });

  it('rejects wrong data shapes and unknown actions at compile time', () => {
    // Only the types are under test; nothing here runs.
    const neverCalled = (): void => {
      // @ts-expect-error: b is missing
      void client.request('sum', { a: 1 });
      // @ts-expect-error: a must be a number
      void client.request('sum', { a: '1', b: 2 });
      // @ts-expect-error: unknown action
      void client.request('product', { a: 1, b: 2 });
      // @ts-expect-error: chat takes { text: string }
      void client.sendPacket('chat', { body: 'x' });
      // @ts-expect-error: 'news' is a server action, not a client action
      void client.sendPacket('news', { headline: 'x' });
      // @ts-expect-error: the server does not bind server actions
      server.bindAction('news', () => undefined);
      // @ts-expect-error: the handler for sum must return a number
      server.bindAction('sum', () => 'three');
      // @ts-expect-error: the reply to sum is a number, not a string
      const wrong: Promise<string> = client.request('sum', { a: 1, b: 2 });
      void wrong;
      // @ts-expect-error: broadcast data must match the server action
      void server.broadcast('news', { title: 'x' });
      // @ts-expect-error: unknown action stream
      void server.action$('nope');
    };
    expect(neverCalled).to.be.a('function');
  });

  it('accepts any action on an untyped Server and Client', async () => {
    const loose = new Server({ port: 0 });
    await loose.start();
    const looseClient = new Client({ port: loose.address().port });
    try {
      loose.bindAction('anything', (data: { x: number }) => data.x * 2);
      loose.bindAction('whatever-else', () => undefined);
      await withDeadline(looseClient.start(), WAIT_MS, 'untyped client.start()');
      const doubled: unknown = await looseClient.request('anything', { x: 21 });
      expect(doubled).to.equal(42);
      await looseClient.sendPacket('free-form', [1, 'two', { three: 3 }]);
    } finally {
      await withDeadline(looseClient.stop(), WAIT_MS, 'untyped client.stop()');
      await withDeadline(loose.stop(), WAIT_MS, 'untyped server.stop()');
    }
  });
});

interface StreamActions {
  ticks(d: { n: number }): Stream<number>;
  total(d: Observable<number>): number;
  shout(d: Observable<string>): Stream<string>;
}

describe('integration: typed streams', () => {
  let server: Server<StreamActions>;
  let client: Client<StreamActions>;

  beforeEach(async () => {
    server = new Server<StreamActions>({ port: 0 });
    await server.start();
    client = new Client<StreamActions>({ port: server.address().port });
    await withDeadline(client.start(), WAIT_MS, 'client.start()');
  });

  afterEach(async () => {
    await withDeadline(client.stop(), WAIT_MS, 'client.stop()');
    await withDeadline(server.stop(), WAIT_MS, 'server.stop()');
  });

  it('types stream values by the element type, and channel and upload data by their Observable', async () => {
    server.bindAction('ticks', ({ n }) => range(0, n));
    server.bindAction('total', (values) => {
      assertType<Equals<typeof values, Observable<number>>>();
      return values.pipe(reduce((a, b) => a + b, 0));
    });
    server.bindAction('shout', async function* () {
      yield 'A';
    });
    // @ts-expect-error a stream of numbers cannot be served as strings
    server.bindAction('ticks', () => of('x'));
    const ticks$ = client.stream('ticks', { n: 3 });
    assertType<Equals<typeof ticks$, Observable<number>>>();
    // @ts-expect-error the data must match the map
    client.stream('ticks', { n: 'three' });
    const total = client.sendStream('total', [1, 2, 3]);
    assertType<Equals<typeof total, Promise<number>>>();
    // @ts-expect-error an upload of numbers takes no strings
    void client.sendStream('total', ['1']).catch(() => undefined);
    const shout$ = client.channel('shout', of('a'));
    assertType<Equals<typeof shout$, Observable<string>>>();
    expect(await withDeadline(lastValueFrom(ticks$.pipe(toArray())), WAIT_MS, 'ticks')).to.deep.equal([0, 1, 2]);
    expect(await withDeadline(total, WAIT_MS, 'the upload')).to.equal(6);
    expect(await withDeadline(lastValueFrom(shout$.pipe(toArray())), WAIT_MS, 'the channel')).to.deep.equal(['A']);
  });
});
