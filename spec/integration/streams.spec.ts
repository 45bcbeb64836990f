import { expect } from 'chai';
import { Observable, concatMap, firstValueFrom, interval, lastValueFrom, map, range, reduce, take, timer, toArray } from 'rxjs';
import { Client, type ClientOptions } from '../../lib/client.js';
import { ConnectionClosedError, RemoteError, StreamProtocolError, StreamsUnsupportedError, type PnetworkError } from '../../lib/errors.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { until, withDeadline } from '../helpers/wait.js';
import { specScope } from '../helpers/spec-scope.js';

const WAIT_MS = 10_000;

/** An endless producer that counts what it has produced and whether it was stopped. */
function countingGenerator(): { source: AsyncIterable<number>; produced: () => number; stopped: () => boolean } {
  let produced = 0;
  let stopped = false;
  async function* generate(): AsyncGenerator<number> {
    try {
      for (;;) yield produced++;
    } finally {
      stopped = true;
    }
  }
  return { source: { [Symbol.asyncIterator]: () => generate() }, produced: () => produced, stopped: () => stopped };
}

describe('integration: streams over TCP', function () {
  this.timeout(30_000);
  const scope = specScope(WAIT_MS);
  const { cleanups, subscriptions } = scope;

  function startServer(options: ServerOptions = {}): Promise<Server> {
    return scope.started(new Server({ port: 0, ...options }));
  }

  function startClient(server: Server, options: ClientOptions = {}): Promise<Client> {
    return scope.started(new Client({ port: server.address().port, reconnect: false, ...options }));
  }

  function errorsOf(endpoint: { error$: Observable<PnetworkError> }): PnetworkError[] {
    const errors: PnetworkError[] = [];
    subscriptions.push(endpoint.error$.subscribe((error) => errors.push(error)));
    return errors;
  }

  it('delivers a handler Observable to the requester, and a plain request still gets its first value', async () => {
    const server = await startServer();
    server.bindAction('count', (n: number) => range(0, n));
    const client = await startClient(server);
    expect(await withDeadline(lastValueFrom(client.stream('count', 5).pipe(toArray())), WAIT_MS, 'the stream')).to.deep.equal([0, 1, 2, 3, 4]);
    expect(await client.request('count', 5)).to.equal(0);
  });

  it('serves an AsyncIterable handler, and a plain request to it gets its first value', async () => {
    const server = await startServer();
    server.bindAction('letters', async function* () {
      yield 'a';
      yield 'b';
    });
    const client = await startClient(server);
    expect(await withDeadline(lastValueFrom(client.stream('letters', null).pipe(toArray())), WAIT_MS, 'the stream')).to.deep.equal(['a', 'b']);
    expect(await client.request('letters', null)).to.equal('a');
  });

  it('a slow consumer (1 value per 10 ms) on an endless fast producer: never more than credit + buffer in flight, and the producer stops on unsubscribe', async () => {
    const producer = countingGenerator();
    const server = await startServer({ maxStreamBufferedValues: 16 });
    server.bindAction('endless', () => producer.source);
    const client = await startClient(server);
    const demand = client.demandStream('endless', null);
    let consumed = 0;
    let worst = 0;
    subscriptions.push(
      demand.values$.subscribe((value) => {
        expect(value).to.equal(consumed);
        consumed++;
        worst = Math.max(worst, producer.produced() - consumed);
      }),
    );
    demand.request(1);
    const ticker = setInterval(() => demand.request(1), 10);
    cleanups.push(() => clearInterval(ticker));
    await until(() => consumed >= 50, WAIT_MS, '50 values at the slow pace');
    clearInterval(ticker);
    // One credit ahead, at most: an AsyncIterable is pulled only as credit allows.
    expect(worst).to.be.at.most(1 + 16);
    subscriptions.pop()!.unsubscribe();
    await until(() => producer.stopped(), WAIT_MS, 'the producer to be stopped');
    await until(() => server.clients.size === 1 && [...server.clients.values()][0]!.openStreams === 0, WAIT_MS, 'the stream to end at the server');
  });

  it('a slow consumer on a fast Observable producer: the stream ends with ERR_STREAM_OVERFLOW on both sides instead of growing', async () => {
    let produced = 0;
    let unsubscribed = false;
    const server = await startServer({ maxStreamBufferedValues: 20 });
    const serverErrors = errorsOf(server);
    server.bindAction(
      'fast',
      () =>
        new Observable<number>((subscriber) => {
          const ticker = setInterval(() => subscriber.next(produced++), 1);
          return () => {
            unsubscribed = true;
            clearInterval(ticker);
          };
        }),
    );
    const client = await startClient(server);
    const demand = client.demandStream('fast', null);
    demand.request(5);
    const failure = await withDeadline(
      lastValueFrom(demand.values$.pipe(toArray())).then(
        () => null,
        (err: unknown) => err,
      ),
      WAIT_MS,
      'the overflow',
    );
    expect(failure).to.be.instanceOf(RemoteError);
    expect((failure as RemoteError).remoteCode).to.equal('ERR_STREAM_OVERFLOW');
    await until(() => serverErrors.some((error) => error.code === 'ERR_STREAM_OVERFLOW'), WAIT_MS, 'the overflow on the server');
    expect(unsubscribed).to.equal(true);
    // 5 sent on credit, 20 held, the 21st overflows.
    expect(produced).to.equal(5 + 20 + 1);
  });

  it('after an unsubscribe the producer stops within one round trip of credit', async () => {
    const producer = countingGenerator();
    const server = await startServer();
    server.bindAction('endless', () => producer.source);
    const client = await startClient(server);
    const values = await withDeadline(lastValueFrom(client.stream('endless', null, { prefetch: 256 }).pipe(take(1000), toArray())), WAIT_MS, '1000 values');
    expect(values).to.have.length(1000);
    const atCancel = producer.produced();
    await until(() => producer.stopped(), WAIT_MS, 'the producer to be stopped');
    expect(producer.produced() - 1000).to.be.at.most(256);
    expect(producer.produced() - atCancel).to.be.at.most(256);
  });

  it("unsubscribing unsubscribes the handler's Observable", async () => {
    let subscribed = 0;
    let unsubscribed = 0;
    const server = await startServer();
    server.bindAction(
      'ticks',
      () =>
        new Observable<number>((subscriber) => {
          subscribed++;
          const ticker = setInterval(() => subscriber.next(1), 1);
          return () => {
            unsubscribed++;
            clearInterval(ticker);
          };
        }),
    );
    const client = await startClient(server);
    await withDeadline(firstValueFrom(client.stream('ticks', null)), WAIT_MS, 'a tick');
    await until(() => unsubscribed === 1, WAIT_MS, 'the handler Observable to be unsubscribed');
    expect(subscribed).to.equal(1);
  });

  it('1,000 concurrent streams on one connection each deliver every value in order', async () => {
    const server = await startServer();
    server.bindAction('seq', async function* (n: number) {
      for (let i = 0; i < n; i++) {
        if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield i;
      }
    });
    const client = await startClient(server);
    const expected = Array.from({ length: 30 }, (_v, i) => i);
    const all = await withDeadline(
      Promise.all(Array.from({ length: 1000 }, () => lastValueFrom(client.stream('seq', 30, { prefetch: 8 }).pipe(toArray())))),
      20_000,
      '1000 streams',
    );
    for (const values of all) expect(values).to.deep.equal(expected);
    expect(client.connection!.openStreams).to.equal(0);
  });

  it('an upload whose source is slow arrives whole, and an upload larger than the buffer is pulled without overflowing', async () => {
    const server = await startServer({ maxStreamBufferedValues: 8 });
    server.bindAction('sum', (values: Observable<number>) => values.pipe(reduce((total, value) => total + value, 0)));
    const client = await startClient(server, { maxStreamBufferedValues: 8 });
    async function* slow(): AsyncGenerator<number> {
      for (let i = 1; i <= 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        yield i;
      }
    }
    expect(await withDeadline(client.sendStream('sum', slow()), WAIT_MS, 'the slow upload')).to.equal(210);
    const many = Array.from({ length: 5000 }, (_v, i) => i);
    expect(await withDeadline(client.sendStream('sum', many), WAIT_MS, 'the large upload')).to.equal((4999 * 5000) / 2);
  });

  it('a channel with a slow responder delivers every answer in order, and each direction completes on its own', async () => {
    const server = await startServer();
    server.bindAction('double', (values: Observable<number>) => values.pipe(concatMap((value) => timer(1).pipe(map(() => value * 2)))));
    const client = await startClient(server);
    const answers = await withDeadline(lastValueFrom(client.channel('double', range(0, 100)).pipe(toArray())), WAIT_MS, 'the channel');
    expect(answers).to.deep.equal(Array.from({ length: 100 }, (_v, i) => i * 2));
    await until(() => [...server.clients.values()][0]!.openStreams === 0, WAIT_MS, 'the channel to end at the server');
  });

  it('a full socket delays stream values and never drops them: 16 MiB through a 1 MiB send buffer', async () => {
    const server = await startServer({ maxSendBufferBytes: 1024 * 1024 });
    const serverErrors = errorsOf(server);
    const chunk = 'x'.repeat(64 * 1024);
    server.bindAction('big', () => range(0, 256).pipe(map((i) => `${i}:${chunk}`)));
    const client = await startClient(server);
    const values = await withDeadline(lastValueFrom(client.stream('big', null).pipe(toArray())), 20_000, 'the big stream');
    expect(values.map((value) => Number(value.split(':')[0]))).to.deep.equal(Array.from({ length: 256 }, (_v, i) => i));
    expect(serverErrors).to.deep.equal([]);
  });

  it('an upload nobody awaits on a connected client: its failure is reported on error$, not thrown as an unhandled rejection', async () => {
    const server = await startServer();
    const client = await startClient(server);
    const errors = errorsOf(client);
    void client.sendStream('nothing-bound-here', range(0, 3));
    await until(() => errors.length === 1, WAIT_MS, 'the failed upload on error$');
    expect(errors[0]).to.be.instanceOf(RemoteError);
    expect((errors[0] as RemoteError).remoteCode).to.equal('ERR_NO_HANDLER');
  });

  it('a second subscriber to a demand stream fails with StreamProtocolError, and the first goes on', async () => {
    const server = await startServer();
    server.bindAction('count', (n: number) => range(0, n));
    const client = await startClient(server);
    const demand = client.demandStream('count', 3);
    const first = lastValueFrom(demand.values$.pipe(toArray()));
    const second = await lastValueFrom(demand.values$).catch((err: unknown) => err);
    expect(second).to.be.instanceOf(StreamProtocolError);
    demand.request(3);
    expect(await withDeadline(first, WAIT_MS, 'the first subscriber')).to.deep.equal([0, 1, 2]);
  });

  describe('a plain request to an AsyncIterable handler whose return() misbehaves', () => {
    /** An iterator with one item whose return() does what `onReturn` does. */
    const iterable = (onReturn: () => Promise<IteratorResult<number>>): AsyncIterable<number> => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ value: 7, done: false }),
        return: onReturn,
      }),
    });

    it('gets the first value when return() rejects, and the failure is reported', async () => {
      const server = await startServer();
      server.bindAction('rejects', () => iterable(() => Promise.reject(new Error('return failed'))));
      const errors = errorsOf(server);
      const client = await startClient(server);
      expect(await withDeadline(client.request('rejects', null), WAIT_MS, 'the request')).to.equal(7);
      await until(() => errors.length === 1, WAIT_MS, 'the failure of return() on error$');
      expect(errors[0]!.code).to.equal('ERR_HANDLER');
      expect(errors[0]!.message).to.include('return failed');
    });

    it('gets the first value when return() never settles, and such requests do not use up the handler slots', async () => {
      const server = await startServer({ maxConcurrentHandlers: 4 });
      server.bindAction('hangs', () => iterable(() => new Promise<IteratorResult<number>>(() => undefined)));
      const client = await startClient(server);
      for (let i = 0; i < 8; i++) expect(await withDeadline(client.request('hangs', null), WAIT_MS, `request ${i}`)).to.equal(7);
    });
  });

  describe('a handler Observable whose teardown throws', () => {
    /** One value, then (with `complete`) completion a microtask later; unsubscribing it throws. */
    const badTeardown = (complete: boolean): Observable<number> =>
      new Observable<number>((subscriber) => {
        subscriber.next(1);
        if (complete) queueMicrotask(() => subscriber.complete());
        return () => {
          throw new Error('teardown failed');
        };
      });

    async function served(): Promise<{ server: Server; client: Client; errors: PnetworkError[] }> {
      const server = await startServer();
      server.bindAction('endless', () => badTeardown(false));
      server.bindAction('ends', () => badTeardown(true));
      server.bindAction('echo', (text: string) => text);
      const errors = errorsOf(server);
      const client = await startClient(server);
      return { server, client, errors };
    }

    it('a cancel still ends the stream: the failure is reported and the connection stays', async () => {
      const { server, client, errors } = await served();
      expect(await withDeadline(firstValueFrom(client.stream('endless', null)), WAIT_MS, 'the first value')).to.equal(1);
      await until(() => errors.length === 1, WAIT_MS, 'the teardown failure on error$');
      expect(errors[0]!.code).to.equal('ERR_HANDLER');
      expect(errors[0]!.message).to.include('teardown failed');
      expect(await withDeadline(client.request('echo', 'still here'), WAIT_MS, 'a request after the cancel')).to.equal('still here');
      expect(server.getClient(client.token!)!.openStreams).to.equal(0);
    });

    it('its completion still reaches the requester and frees the stream', async () => {
      const { server, client, errors } = await served();
      for (let i = 0; i < 3; i++) {
        expect(await withDeadline(lastValueFrom(client.stream('ends', null).pipe(toArray())), WAIT_MS, `stream ${i}`)).to.deep.equal([1]);
      }
      expect(server.getClient(client.token!)!.openStreams).to.equal(0);
      await until(() => errors.length === 3, WAIT_MS, 'three teardown failures on error$');
      expect(errors.every((error) => error.code === 'ERR_HANDLER')).to.equal(true);
    });

    // Its first value ends it inside subscribe(), as take(1) does locally: RxJS runs the teardown on a
    // subscriber that has stopped, and drops what it throws there, here as in a local pipeline.
    it('a plain request to it gets the first value, and the connection stays', async () => {
      const { server, client } = await served();
      expect(await withDeadline(client.request('endless', null), WAIT_MS, 'the request')).to.equal(1);
      expect(await withDeadline(client.request('echo', 'still here'), WAIT_MS, 'a request after it')).to.equal('still here');
      expect(server.getClient(client.token!)!.stats.packetsOut, 'no second answer to the request').to.be.lessThan(4);
    });

    it('a plain request to a synchronous endless source gets the first value and stops the source there', async () => {
      const server = await startServer();
      let produced = 0;
      server.bindAction(
        'flood',
        () =>
          new Observable<number>((subscriber) => {
            while (!subscriber.closed && produced < 1_000_000) subscriber.next(produced++);
          }),
      );
      const client = await startClient(server);
      expect(await withDeadline(client.request('flood', null), WAIT_MS, 'the request')).to.equal(0);
      expect(produced, 'values the source made').to.equal(1);
    });

    it('server.stop() with such a stream open resolves, and the stream ends with ConnectionClosedError', async () => {
      const { server, client } = await served();
      const ended = new Promise<unknown>((resolve) => {
        subscriptions.push(client.stream('endless', null).subscribe({ error: resolve, complete: () => resolve('completed') }));
      });
      await until(() => server.getClient(client.token!)?.openStreams === 1, WAIT_MS, 'the stream to open');
      await withDeadline(server.stop(), WAIT_MS, 'server.stop()');
      expect(await withDeadline(ended, WAIT_MS, 'the stream to end')).to.be.instanceOf(ConnectionClosedError);
    });
  });

  it('a stream open across server stop() ends with ConnectionClosedError and does not hang', async () => {
    const server = await startServer();
    server.bindAction('forever', () => interval(5));
    const client = await startClient(server);
    let received = 0;
    const ended = new Promise<unknown>((resolve) => {
      subscriptions.push(client.stream('forever', null).subscribe({ next: () => received++, error: resolve, complete: () => resolve('completed') }));
    });
    await until(() => received > 2, WAIT_MS, 'some values');
    await withDeadline(server.stop(), WAIT_MS, 'server.stop()');
    const outcome = await withDeadline(ended, WAIT_MS, 'the stream to end');
    expect(outcome).to.be.instanceOf(ConnectionClosedError);
  });

  it('refuses a stream past maxConcurrentStreams at the server with ERR_STREAM_LIMIT', async () => {
    const server = await startServer({ maxConcurrentStreams: 2 });
    server.bindAction('forever', () => interval(50));
    const client = await startClient(server);
    subscriptions.push(client.stream('forever', null).subscribe(), client.stream('forever', null).subscribe());
    const third = await withDeadline(firstValueFrom(client.stream('forever', null)).catch((err: unknown) => err), WAIT_MS, 'the refusal');
    expect((third as RemoteError).remoteCode).to.equal('ERR_STREAM_LIMIT');
  });

  it('does not open a stream to a peer that did not announce streams: StreamsUnsupportedError, nothing sent', async () => {
    const server = await startServer();
    const raw = await RawClient.connect(server.address().port);
    cleanups.push(() => raw.destroy());
    await raw.handshake();
    await until(() => server.clients.size === 1, WAIT_MS, 'the raw client');
    const connection = [...server.clients.values()][0]!;
    const failure = await firstValueFrom(connection.stream('anything', null)).catch((err: unknown) => err);
    expect(failure).to.be.instanceOf(StreamsUnsupportedError);
    expect(raw.frames.filter((frame) => frame.stream !== undefined)).to.deep.equal([]);
  });

  it('answers a stream open from a raw peer with values, credit-paced, and ignores a cancel for an unknown stream', async () => {
    const server = await startServer();
    const serverErrors = errorsOf(server);
    server.bindAction('count', (n: number) => range(0, n));
    const raw = await RawClient.connect(server.address().port);
    cleanups.push(() => raw.destroy());
    await raw.handshake();
    raw.send('stream-cancel', null, { stream: 77 });
    raw.send('count', 5, { stream: 1, credit: 2 });
    await raw.waitFor((frame) => frame.action === 'stream-next' && frame.data === 1, 'two values');
    raw.send('stream-credit', 3, { stream: 1 });
    await raw.waitFor((frame) => frame.action === 'stream-complete' && frame.stream === 1, 'the completion');
    const values = raw.frames.filter((frame) => frame.action === 'stream-next').map((frame) => frame.data);
    expect(values).to.deep.equal([0, 1, 2, 3, 4]);
    expect(raw.frames.filter((frame) => frame.action === 'error' || frame.action === 'stream-error')).to.deep.equal([]);
    expect(serverErrors).to.deep.equal([]);
  });

  // Failed before: each failed at once with NotConnectedError while start() was still connecting, where
  // sendPacket and request wait in the offline queue.
  it('opens stream, channel, demandStream and sendStream made while the client connects once it is connected, after the packets sent before them', async () => {
    const server = await startServer();
    server.bindAction('count', (n: number) => range(0, n));
    server.bindAction('echo', (values: Observable<number>) => values);
    server.bindAction('sum', (values: Observable<number>) => values.pipe(reduce((a, b) => a + b, 0)));
    const seen: string[] = [];
    server.bindAction('mark', (label: string) => void seen.push(label));
    server.bindAction('log', (n: number) => {
      seen.push(`count ${n}`);
      return range(0, n);
    });
    const client = scope.own(new Client({ port: server.address().port, reconnect: false }));
    const starting = client.start();
    expect(client.state).to.equal('connecting');
    void client.sendPacket('mark', 'before');
    const counted = lastValueFrom(client.stream('log', 3).pipe(toArray()));
    const echoed = lastValueFrom(client.channel('echo', [1, 2]).pipe(toArray()));
    const demand = client.demandStream('count', 4);
    demand.request(4);
    const demanded = lastValueFrom(demand.values$.pipe(toArray()));
    const summed = client.sendStream('sum', [1, 2, 3]);
    await withDeadline(starting, WAIT_MS, 'start()');
    expect(await withDeadline(counted, WAIT_MS, 'the stream')).to.deep.equal([0, 1, 2]);
    expect(await withDeadline(echoed, WAIT_MS, 'the channel')).to.deep.equal([1, 2]);
    expect(await withDeadline(demanded, WAIT_MS, 'the demand stream')).to.deep.equal([0, 1, 2, 3]);
    expect(await withDeadline(summed, WAIT_MS, 'the upload')).to.equal(6);
    expect(seen).to.deep.equal(['before', 'count 3']);
  });

  it('fails a stream made on a client that is not started with NotConnectedError, and one waiting for a connection when stop() comes', async () => {
    const server = await startServer();
    server.bindAction('count', (n: number) => range(0, n));
    const idle = scope.own(new Client({ port: server.address().port, reconnect: false }));
    const refused = await lastValueFrom(idle.stream('count', 1)).catch((err: unknown) => err);
    expect(refused).to.include({ code: 'ERR_NOT_CONNECTED' });
    const client = scope.own(new Client({ port: server.address().port, reconnect: false }));
    const starting = client.start().catch(() => undefined);
    const waiting = lastValueFrom(client.stream('count', 1)).catch((err: unknown) => err);
    await client.stop();
    await starting;
    expect(await withDeadline(waiting, WAIT_MS, 'the waiting stream')).to.include({ code: 'ERR_NOT_CONNECTED' });
  });
});
