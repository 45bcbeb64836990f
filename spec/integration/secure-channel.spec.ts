import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { randomBytes } from 'node:crypto';
import { ClientKeyExchange } from '../../lib/crypto/channel/exchange.js';
import { encodeFrame } from '../../lib/protocol/frame.js';
import { Client, type ClientOptions } from '../../lib/client.js';
import {
  ClientKeyRefusedError,
  ConnectionClosedError,
  DecryptionError,
  HandshakeTimeoutError,
  KnownHostsMismatchError,
  RemoteError,
  ServerKeyMismatchError,
  type PnetworkError,
} from '../../lib/errors.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import { JSON_CODEC, type Codec } from '../../lib/protocol/codec.js';
import { FrameProxy, type FrameTamper } from '../helpers/frame-proxy.js';
import { fixtureKeys } from '../helpers/keys.js';
import { specScope } from '../helpers/spec-scope.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { until, withDeadline } from '../helpers/wait.js';

const WAIT_MS = 10_000;
const serverKeys = fixtureKeys('alice');
const clientKeys = fixtureKeys('bob');
/** Frames before the records start: ClientHello (to the server) and ServerHello (to the client). */
const CLIENT_HELLO_FRAME_BYTES = 4 + 70;

const outcome = (promise: Promise<unknown>): Promise<unknown> =>
  withDeadline(
    promise.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    WAIT_MS,
    'the outcome',
  );

describe('integration: the secure channel', () => {
  const scope = specScope(WAIT_MS);

  async function startServer(options: ServerOptions = {}): Promise<{ server: Server; port: number; errors: PnetworkError[]; handled: unknown[] }> {
    const server = new Server({ port: 0, encryption: { keys: serverKeys }, ...options });
    const handled: unknown[] = [];
    server.bindAction('echo', (data: unknown) => {
      handled.push(data);
      return data;
    });
    const errors: PnetworkError[] = [];
    scope.subscriptions.push(server.error$.subscribe((err) => errors.push(err)));
    await server.start();
    scope.cleanups.push(() => server.stop());
    return { server, port: server.address().port, errors, handled };
  }

  function client(port: number, options: ClientOptions = {}): Client {
    const instance = new Client({ port, reconnect: false, encryption: { serverFingerprint: serverKeys.fingerprint }, ...options });
    scope.cleanups.push(() => instance.stop());
    return instance;
  }

  async function proxy(port: number, tamper?: FrameTamper): Promise<{ proxy: FrameProxy; port: number }> {
    const instance = new FrameProxy(port, tamper);
    const proxyPort = await instance.listen();
    scope.cleanups.push(() => instance.close());
    return { proxy: instance, port: proxyPort };
  }

  it('carries requests both ways; both sides report the channel and the server key is the one pinned', async () => {
    const { server, port } = await startServer();
    const c = client(port);
    await c.start();
    expect(await c.request('echo', { n: 1 })).to.deep.equal({ n: 1 });
    const [connection] = [...server.clients.values()];
    expect(c.connection!.security).to.equal('channel');
    expect(c.connection!.encrypted).to.equal(true);
    expect(c.connection!.peerFingerprint).to.equal(serverKeys.fingerprint);
    expect(connection!.security).to.equal('channel');
    expect(connection!.peerFingerprint).to.equal(null);
    expect(server.security).to.equal('channel');
    expect(server.fingerprint).to.equal(serverKeys.fingerprint);
    expect(c.connection!.channelRecords!.sent).to.be.greaterThan(1);
    expect(connection!.channelRecords!.received).to.equal(c.connection!.channelRecords!.sent);
  });

  it('keeps the traffic keys out of what a logger prints for a connection, a client or a server', async () => {
    const { server, port } = await startServer();
    const c = client(port, { encryption: { serverFingerprint: serverKeys.fingerprint, keys: clientKeys } });
    await c.start();
    const [connection] = [...server.clients.values()];
    for (const printed of [inspect(c, { depth: 12 }), inspect(c.connection, { depth: 12 }), inspect(connection, { depth: 12 }), inspect(server, { depth: 6 })]) {
      expect(printed).to.not.match(/RecordSealer|RecordOpener|sealer|opener|transcript|TrafficKeys/);
      expect(printed).to.not.include('PRIVATE KEY');
    }
  });

  it('carries a stream of 3,000 values in order, with credit, over the channel', async () => {
    const { server, port } = await startServer();
    // An AsyncIterable is pulled only as credit allows.
    server.bindAction('count', async function* (n: number) {
      for (let i = 0; i < n; i++) yield i;
    });
    const c = client(port);
    await c.start();
    const values = await withDeadline(lastValueFrom(c.stream('count', 3_000).pipe(toArray())), WAIT_MS, 'the stream');
    expect(values).to.deep.equal(Array.from({ length: 3_000 }, (_, i) => i));
    expect(c.connection!.channelRecords!.received).to.be.greaterThan(1);
  });

  it('reconnects over a fresh key exchange after the server restarts, and sends what was queued meanwhile', async () => {
    const { server, port } = await startServer();
    const c = client(port, { reconnect: true, reconnectDelayMs: 10, reconnectDelayMaxMs: 20 });
    await c.start();
    const firstToken = c.token;
    const firstRecords = c.connection!.channelRecords!.sent;
    await server.stop();
    await until(() => c.state === 'reconnecting', WAIT_MS, 'the client to notice');
    const queued = c.sendPacket('echo', 'queued while away');
    // The same key on the same port: what a restarted server process looks like to its clients.
    const { handled } = await startServer({ port });
    await until(() => c.state === 'connected', WAIT_MS, 'the client to reconnect');
    await withDeadline(queued, WAIT_MS, 'the queued packet');
    expect(await c.request('echo', 'after')).to.equal('after');
    expect(c.token).to.not.equal(firstToken);
    expect(c.connection!.security).to.equal('channel');
    // A new session counts its records from zero again.
    expect(c.connection!.channelRecords!.sent).to.be.lessThan(firstRecords + 10);
    expect(handled).to.include('queued while away');
  });

  it('never shows the token or a payload on the wire', async () => {
    const { port } = await startServer();
    const { proxy: mitm, port: proxyPort } = await proxy(port);
    const c = client(proxyPort);
    await c.start();
    const payload = 'payload-that-must-stay-secret-4711';
    expect(await c.request('echo', payload)).to.equal(payload);
    await c.sendPacket('echo', `${payload}-again`);
    const capture = mitm.capture();
    expect(c.token).to.be.a('string').with.length.greaterThan(0);
    expect(capture).to.not.include(c.token!);
    expect(capture).to.not.include(payload);
    expect(capture).to.not.include('handshake');
    expect(capture).to.not.include('"action"');
  });

  it('aborts on a wrong pin after the ClientHello: nothing else is written, no token, no record', async () => {
    const { port, handled } = await startServer();
    const { proxy: mitm, port: proxyPort } = await proxy(port);
    const c = client(proxyPort, { encryption: { serverFingerprint: clientKeys.fingerprint } });
    const err = await outcome(c.start());
    expect(err).to.be.instanceOf(ServerKeyMismatchError);
    expect((err as ServerKeyMismatchError).fingerprint).to.equal(serverKeys.fingerprint);
    await until(() => Buffer.concat(mitm.toClient).length > 0, WAIT_MS, 'the ServerHello');
    expect(Buffer.concat(mitm.toServer).length).to.equal(CLIENT_HELLO_FRAME_BYTES);
    expect(handled).to.deep.equal([]);
    expect(c.state).to.equal('closed');
  });

  it('accepts the next key listed beside the current one (a backup pin for rotation)', async () => {
    const { port } = await startServer();
    const c = client(port, { encryption: { serverFingerprint: [clientKeys.fingerprint, serverKeys.fingerprint] } });
    await c.start();
    expect(await c.request('echo', 'rotated')).to.equal('rotated');
  });

  for (const [where, change] of [
    ['header', (frame: Buffer) => frame.writeUInt32BE(frame.readUInt32BE(0) & (frame.readUInt32BE(0) - 1), 0)],
    ['body', (frame: Buffer) => frame.writeUInt8(frame.readUInt8(5) ^ 0x01, 5)],
    ['tag', (frame: Buffer) => frame.writeUInt8(frame.readUInt8(frame.length - 1) ^ 0x80, frame.length - 1)],
  ] as const) {
    it(`closes the connection when one bit of a record's ${where} is flipped, and delivers nothing of it`, async () => {
      const { server, port, errors, handled } = await startServer();
      let armed = false;
      const { port: proxyPort } = await proxy(port, (direction, _index, frame) => {
        if (direction === 'toServer' && armed) {
          armed = false;
          change(frame);
        }
        return [frame];
      });
      const c = client(proxyPort);
      await c.start();
      expect(await c.request('echo', 'before')).to.equal('before');
      const [connection] = [...server.clients.values()];
      armed = true;
      void c.sendPacket('echo', 'tampered').catch(() => undefined);
      const reason = await withDeadline(connection!.closed, WAIT_MS, 'the server to close the connection');
      expect(reason).to.match(/failed authentication|record/);
      expect(errors.some((e) => e instanceof DecryptionError)).to.equal(true);
      expect(handled).to.deep.equal(['before']);
    });
  }

  for (const [what, tamper] of [
    ['replayed', (frame: Buffer) => [frame, Buffer.from(frame)]],
    ['reordered', null],
  ] as const) {
    it(`refuses a ${what} record`, async () => {
      const { server, port, errors, handled } = await startServer();
      let armed = false;
      let held: Buffer | null = null;
      const { port: proxyPort } = await proxy(port, (direction, _index, frame) => {
        if (direction !== 'toServer' || !armed) return [frame];
        if (tamper) {
          armed = false;
          return tamper(frame);
        }
        // Hold the first record back and send it after the second.
        if (held === null) {
          held = frame;
          return [];
        }
        armed = false;
        return [frame, held];
      });
      const c = client(proxyPort);
      await c.start();
      expect(await c.request('echo', 'before')).to.equal('before');
      const [connection] = [...server.clients.values()];
      armed = true;
      void c.sendPacket('echo', 'one').catch(() => undefined);
      // Another tick: its own record.
      await new Promise((resolve) => setImmediate(resolve));
      void c.sendPacket('echo', 'two').catch(() => undefined);
      await withDeadline(connection!.closed, WAIT_MS, 'the server to close the connection');
      expect(errors.some((e) => e instanceof DecryptionError)).to.equal(true);
      // A replay delivers the original once and nothing of the copy; reordering delivers neither.
      expect(handled).to.deep.equal(tamper ? ['before', 'one'] : ['before']);
    });
  }

  it('refuses a record reflected back to its sender', async () => {
    const { port, errors } = await startServer();
    let armed = false;
    let mitm: FrameProxy | null = null;
    const { proxy: instance, port: proxyPort } = await proxy(port, (direction, _index, frame) => {
      // The server's next record goes back to the server instead of on to the client.
      if (direction === 'toClient' && armed) {
        armed = false;
        mitm!.inject('toServer', frame);
        return [];
      }
      return [frame];
    });
    mitm = instance;
    const c = client(proxyPort);
    await c.start();
    const connection = c.connection!;
    armed = true;
    const reply = outcome(c.request('echo', 'mirror'));
    await withDeadline(connection.closed, WAIT_MS, 'the connection to close');
    expect(await reply).to.be.instanceOf(ConnectionClosedError);
    expect(errors.some((e) => e instanceof DecryptionError)).to.equal(true);
  });

  it('refuses a client key that is not authorized, and lets an authorized one in with its fingerprint for middleware', async () => {
    const seen: Array<string | null> = [];
    const { server, port, errors } = await startServer({ encryption: { keys: serverKeys, authorizedKeys: [clientKeys.fingerprint] } });
    server.use((connection) => {
      seen.push(connection.peerFingerprint);
    });
    const anonymous = client(port);
    const refused = await outcome(anonymous.start());
    expect(refused).to.be.instanceOf(RemoteError);
    expect((refused as RemoteError).remoteCode).to.equal('ERR_CLIENT_KEY_REFUSED');
    const stranger = client(port, { encryption: { serverFingerprint: serverKeys.fingerprint, keys: serverKeys } });
    expect(((await outcome(stranger.start())) as RemoteError).remoteCode).to.equal('ERR_CLIENT_KEY_REFUSED');
    const known = client(port, { encryption: { serverFingerprint: serverKeys.fingerprint, keys: clientKeys } });
    await known.start();
    expect(await known.request('echo', 'let in')).to.equal('let in');
    expect(seen).to.deep.equal([clientKeys.fingerprint]);
    expect([...server.clients.values()][0]!.peerFingerprint).to.equal(clientKeys.fingerprint);
    const refusals = errors.filter((e): e is ClientKeyRefusedError => e instanceof ClientKeyRefusedError);
    expect(refusals.map((e) => e.fingerprint)).to.deep.equal([null, serverKeys.fingerprint]);
  });

  it('answers in the server\'s own codec, so a client with the same custom codec reads a refused key or a missing channel', async () => {
    // A binary codec: JSON with its bytes reversed, unreadable as JSON.
    const reversed: Codec = {
      name: 'reversed-json',
      encode: (packet) => Buffer.from(JSON_CODEC.encode(packet)).reverse(),
      decode: (bytes) => JSON_CODEC.decode(Buffer.from(bytes).reverse()),
    };
    const { port } = await startServer({ codec: reversed, encryption: { keys: serverKeys, authorizedKeys: [clientKeys.fingerprint] } });
    const refused = await outcome(client(port, { codec: reversed }).start());
    expect(refused).to.be.instanceOf(RemoteError);
    expect((refused as RemoteError).remoteCode).to.equal('ERR_CLIENT_KEY_REFUSED');
    // A plain client with that codec is told that encryption is required, in that codec too.
    const plain = new Client({ port, reconnect: false, codec: reversed });
    scope.cleanups.push(() => plain.stop());
    expect(((await outcome(plain.start())) as RemoteError).remoteCode).to.equal('ERR_CHANNEL_REQUIRED');
    const known = client(port, { codec: reversed, encryption: { serverFingerprint: serverKeys.fingerprint, keys: clientKeys } });
    await known.start();
    expect(await known.request('echo', 'in')).to.equal('in');
  });

  it('trusts on first use with known_hosts, and refuses a changed key naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pnetwork-known-hosts-'));
    scope.cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'known_hosts');
    const { port } = await startServer();
    const first = client(port, { encryption: { knownHosts: file } });
    await first.start();
    expect(readFileSync(file, 'utf8')).to.equal(`127.0.0.1:${port} ${serverKeys.fingerprint}\n`);
    await first.stop();
    const again = client(port, { encryption: { knownHosts: file } });
    await again.start();
    await again.stop();
    writeFileSync(file, `# rotated by hand\n127.0.0.1:${port} ${clientKeys.fingerprint}\n`);
    const changed = client(port, { encryption: { knownHosts: file } });
    const err = await outcome(changed.start());
    expect(err).to.be.instanceOf(KnownHostsMismatchError);
    expect((err as Error).message).to.include(file);
    expect(readFileSync(file, 'utf8')).to.not.include(serverKeys.fingerprint);
  });

  it('tells a plain client that encryption is required, and a channel client that a plain server does not speak it', async () => {
    const { port, errors } = await startServer();
    const plain = new Client({ port, reconnect: false });
    scope.cleanups.push(() => plain.stop());
    const refused = await outcome(plain.start());
    expect(refused).to.be.instanceOf(RemoteError);
    expect((refused as RemoteError).remoteCode).to.equal('ERR_CHANNEL_REQUIRED');
    await until(() => errors.some((e) => e.code === 'ERR_CHANNEL_REQUIRED'), WAIT_MS, 'the refusal on error$');

    const plainServer = new Server({ port: 0 });
    await plainServer.start();
    scope.cleanups.push(() => plainServer.stop());
    const err = await outcome(client(plainServer.address().port).start());
    expect(err).to.be.instanceOf(RemoteError);
    expect((err as Error).message).to.include('the server answered in plain text');
  });

  describe('a server that never answers the key exchange', () => {
    let silent: NetServer;
    let held: Socket[];
    let silentPort: number;
    beforeEach(async () => {
      held = [];
      silent = createNetServer((socket) => {
        held.push(socket);
        // Read (and drop) what the client sends, so that its FIN or reset is seen here.
        socket.resume();
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
      silentPort = (silent.address() as { port: number }).port;
    });
    afterEach(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('times the key exchange out on the injected scheduler', async () => {
      const clock = new VirtualClock();
      const c = client(silentPort, { scheduler: clock, handshakeTimeoutMs: 5_000 });
      const started = outcome(c.start());
      await until(() => held.length === 1, WAIT_MS, 'the client to connect');
      let timedOut = false;
      c.state$.subscribe((state) => (timedOut ||= state === 'closed' && clock.now() >= 5_000));
      clock.advance(4_999);
      expect(c.state).to.equal('connecting');
      clock.advance(1);
      expect(await started).to.be.instanceOf(HandshakeTimeoutError);
      expect(timedOut).to.equal(true);
      await until(() => held[0]!.readableEnded || held[0]!.destroyed, WAIT_MS, 'the client to drop its socket');
      expect(clock.pending).to.equal(0);
    });

    it('gives the key exchange up when the client stops, at once', async () => {
      const c = client(silentPort);
      const started = outcome(c.start());
      await until(() => held.length === 1, WAIT_MS, 'the client to connect');
      await withDeadline(c.stop('changed my mind'), WAIT_MS, 'stop()');
      const err = await started;
      expect(err).to.be.instanceOf(ConnectionClosedError);
      expect((err as Error).message).to.include('changed my mind');
    });
  });

  it('closes a connection whose record starts and then stalls, after incompleteFrameTimeoutMs on the injected scheduler', async () => {
    const clock = new VirtualClock();
    const errors: PnetworkError[] = [];
    const server = new Server({ port: 0, scheduler: clock, encryption: { keys: serverKeys }, incompleteFrameTimeoutMs: 1_000, heartbeatIntervalMs: 0, handshakeTimeoutMs: 60_000 });
    scope.subscriptions.push(server.error$.subscribe((err) => errors.push(err)));
    await server.start();
    scope.cleanups.push(() => server.stop());
    // A channel client by hand: the exchange, its client-auth record, then half of a record.
    const socket = connect({ host: '127.0.0.1', port: server.address().port });
    socket.on('error', () => undefined);
    scope.cleanups.push(() => void socket.destroy());
    const exchange = new ClientKeyExchange({ random: randomBytes, trustServerKey: () => undefined, rekeyAfterRecords: 1_000 });
    const serverHello = new Promise<Buffer>((resolve) => {
      let held = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        held = Buffer.concat([held, chunk]);
        if (held.length >= 4 && held.length >= 4 + held.readUInt32BE(0)) resolve(held.subarray(4, 4 + held.readUInt32BE(0)));
      });
    });
    socket.write(encodeFrame(exchange.hello));
    const channel = exchange.receive(await withDeadline(serverHello, WAIT_MS, 'the ServerHello'));
    const record = channel.sealer.seal(Buffer.from('0000000a', 'hex'));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.concat([channel.firstRecord, record.subarray(0, record.length - 3)]));
    // The channel opens on the client-auth record, read in the same chunk as the half record after it.
    await until(() => (server as unknown as { open: Set<unknown> }).open.size === 1, WAIT_MS, 'the server to open the channel');
    clock.advance(999);
    expect(errors).to.deep.equal([]);
    clock.advance(1);
    await withDeadline(closed, WAIT_MS, 'the server to close the stalled connection');
    expect(errors.map((e) => e.code)).to.include('ERR_FRAME_TIMEOUT');
  });

  it('gives up a key exchange in progress when the server stops, and counts it against maxConnections meanwhile', async () => {
    const { server, port, errors } = await startServer({ maxConnections: 1 });
    // A client that connects and never sends its ClientHello.
    const half = connect({ host: '127.0.0.1', port });
    half.on('error', () => undefined);
    half.resume();
    await new Promise<void>((resolve) => half.once('connect', () => resolve()));
    scope.cleanups.push(() => void half.destroy());
    await until(() => (server as unknown as { exchanging: Set<unknown> }).exchanging.size === 1, WAIT_MS, 'the exchange to start');
    const second = client(port);
    const refused = await outcome(second.start());
    expect((refused as RemoteError).remoteCode).to.equal('ERR_CONNECTION_LIMIT');
    const closed = new Promise<void>((resolve) => half.once('close', () => resolve()));
    await withDeadline(server.stop(), WAIT_MS, 'stop()');
    await withDeadline(closed, WAIT_MS, 'the half-open exchange to be closed');
    expect(errors.some((e) => e instanceof ConnectionClosedError)).to.equal(true);
  });
});
