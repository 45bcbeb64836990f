import { expect } from 'chai';
import { createServer as createNetServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { asyncScheduler } from 'rxjs';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import { Client, type ClientOptions } from '../../lib/client.js';
import { selfSignedCertificate } from '../../lib/crypto/certificate.js';
import { ConnectionClosedError, ConnectionLimitError, NotConnectedError, PinMismatchError, RemoteError, TlsHandshakeError, UnauthorizedClientError, type PnetworkError } from '../../lib/errors.js';
import { Server, type ServerOptions } from '../../lib/server.js';
import { dial } from '../../lib/transport/sockets.js';
import { netTransport } from '../../lib/transport/transport.js';
import { pinnedCertificates } from '../../lib/transport/pinned-certificates.js';
import { resolveClientTls } from '../../lib/transport/tls-options.js';
import { FrameProxy } from '../helpers/frame-proxy.js';
import { fixtureKeys } from '../helpers/keys.js';
import { specScope } from '../helpers/spec-scope.js';
import { until, withDeadline } from '../helpers/wait.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

const WAIT_MS = 10_000;
const server = fixtureKeys('alice');
const other = fixtureKeys('bob');

/** A CA certificate and a server certificate for 127.0.0.1 it issued, made with forge. */
function caIssued(): { caCert: string; serverCert: string } {
  const caKeys = forge.pki.privateKeyFromPem(other.privateKey);
  const ca = forge.pki.createCertificate();
  ca.publicKey = forge.pki.publicKeyFromPem(other.publicKey);
  ca.serialNumber = '01';
  ca.validity.notBefore = new Date(Date.now() - 60_000);
  ca.validity.notAfter = new Date(Date.now() + 86_400_000);
  const caName = [{ name: 'commonName', value: 'Test CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }]);
  ca.sign(caKeys, forge.md.sha256.create());
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = forge.pki.publicKeyFromPem(server.publicKey);
  leaf.serialNumber = '02';
  leaf.validity.notBefore = new Date(Date.now() - 60_000);
  leaf.validity.notAfter = new Date(Date.now() + 86_400_000);
  leaf.setSubject([{ name: 'commonName', value: 'localhost' }]);
  leaf.setIssuer(caName);
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
  ]);
  leaf.sign(caKeys, forge.md.sha256.create());
  return { caCert: forge.pki.certificateToPem(ca), serverCert: forge.pki.certificateToPem(leaf) };
}

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  withDeadline(
    promise.then(
      () => null,
      (err: unknown) => err,
    ),
    WAIT_MS,
    'the outcome',
  );

describe('integration: TLS 1.3 transport', () => {
  const scope = specScope(WAIT_MS);
  const { cleanups } = scope;

  async function startServer(options: ServerOptions = {}): Promise<{ server: Server; port: number; errors: PnetworkError[] }> {
    const instance = new Server({ port: 0, tls: { keys: server }, ...options });
    instance.bindAction('echo', (data: unknown) => data);
    const errors = scope.collect(instance.error$);
    await scope.started(instance);
    return { server: instance, port: instance.address().port, errors };
  }

  function client(port: number, options: ClientOptions = {}): Client {
    return scope.own(new Client({ port, reconnect: false, tls: { serverFingerprint: server.fingerprint }, ...options }));
  }

  it('connects over TLS 1.3 with a pinned key, and round-trips a request', async () => {
    const { server: instance, port } = await startServer();
    const connected = client(port);
    await connected.start();
    expect(await connected.request('echo', { n: 1 })).to.deep.equal({ n: 1 });
    expect(connected.connection?.encrypted).to.equal(true);
    expect(connected.connection?.peerFingerprint).to.equal(server.fingerprint);
    const [side] = [...instance.clients.values()];
    expect(side?.encrypted).to.equal(true);
    expect(side?.peerFingerprint).to.equal(null);
  });

  it('accepts the pin in curl form (sha256//…)', async () => {
    const { port } = await startServer();
    const connected = client(port, { tls: { serverFingerprint: `sha256//${server.fingerprint}` } });
    await connected.start();
    expect(connected.connection?.peerFingerprint).to.equal(server.fingerprint);
  });

  it('a plain connection says it is not encrypted', async () => {
    const instance = new Server({ port: 0 });
    await instance.start();
    cleanups.push(() => instance.stop());
    const plain = new Client({ port: instance.address().port, reconnect: false });
    cleanups.push(() => plain.stop());
    await plain.start();
    expect(plain.connection?.encrypted).to.equal(false);
    expect(plain.connection?.peerFingerprint).to.equal(null);
  });

  describe('one side with TLS and the other without: each error says so', () => {
    it('a plain client at a TLS server: start() and the server both name the likely cause', async () => {
      const { port, errors } = await startServer();
      const plain = scope.own(new Client({ port, reconnect: false }));
      const err = await failureOf(plain.start());
      expect(err).to.be.instanceOf(NotConnectedError);
      expect((err as Error).message).to.include('without answering the handshake (does it expect TLS or encryption?)');
      await until(() => errors.some((e) => e instanceof TlsHandshakeError), WAIT_MS, 'the server to report it');
      expect(errors.find((e) => e instanceof TlsHandshakeError)!.message).to.include('the client does not speak TLS');
    });

    it('a TLS client at a plain server: start() says the server does not speak TLS', async () => {
      const instance = new Server({ port: 0 });
      await scope.started(instance);
      const err = await failureOf(client(instance.address().port).start());
      expect(err).to.be.instanceOf(TlsHandshakeError);
      expect((err as Error).message).to.include('the server does not speak TLS');
    });
  });

  it('aborts on a wrong pin before any byte of pnetwork is written: a man in the middle receives nothing', async () => {
    // The attacker terminates TLS with a key of its own and records everything the client sends it.
    const received: Buffer[] = [];
    let connections = 0;
    let closed = 0;
    const attacker = createTlsServer({ key: other.privateKey, cert: selfSignedCertificate(other), minVersion: 'TLSv1.3' }, (socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => undefined);
    });
    // The TCP connection under TLS, so the count holds even if the client aborts before the server's handshake ends.
    attacker.on('connection', (raw: Socket) => {
      connections++;
      raw.on('close', () => closed++);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => attacker.close(() => resolve())));
    const victim = client((attacker.address() as { port: number }).port);
    const err = await failureOf(victim.start());
    expect(err).to.be.instanceOf(PinMismatchError).with.property('code', 'ERR_TLS_PIN_MISMATCH');
    expect((err as PinMismatchError).actual).to.equal(other.fingerprint);
    // One handshake, or two when a certificate was remembered for the pin (refused by it, then learned).
    await until(() => connections >= 1 && closed === connections, WAIT_MS, 'the attacker to see the connections end');
    expect(connections).to.be.at.most(2);
    expect(Buffer.concat(received).length).to.equal(0);
  });

  it('aborts on a wrong pin with only TLS handshake records on the wire (a recording proxy)', async () => {
    const { port } = await startServer();
    const proxy = new FrameProxy(port);
    const proxyPort = await proxy.listen();
    cleanups.push(() => proxy.close());
    const victim = client(proxyPort, { tls: { serverFingerprint: other.fingerprint } });
    expect(await failureOf(victim.start())).to.be.instanceOf(PinMismatchError);
    // Client to server, per handshake: ClientHello (type 22), the compatibility ChangeCipherSpec (20), and
    // the encrypted Finished (one record of type 23). A pnetwork frame would be a further record.
    const records = tlsRecords(Buffer.concat(proxy.toServer));
    expect(records.filter((type) => type === 23)).to.have.length.at.most(proxy.connections);
    expect(proxy.connections).to.be.at.most(2);
    expect(records[0]).to.equal(22);
  });

  it('a capture of a TLS session never shows the token or a payload; a plain one does', async () => {
    const secret = 'payload-7f3a9c0e-visible-only-to-the-endpoints';
    for (const tls of [true, false]) {
      const instance = new Server({ port: 0, ...(tls ? { tls: { keys: server } } : {}) });
      instance.bindAction('echo', (data: unknown) => data);
      await instance.start();
      const proxy = new FrameProxy(instance.address().port);
      const proxyPort = await proxy.listen();
      const connected = new Client({ port: proxyPort, reconnect: false, ...(tls ? { tls: { serverFingerprint: server.fingerprint } } : {}) });
      await connected.start();
      expect(await connected.request('echo', { secret })).to.deep.equal({ secret });
      const token = connected.token!;
      await connected.stop();
      await instance.stop();
      await proxy.close();
      const capture = proxy.capture();
      expect(capture.includes(token), `token in the ${tls ? 'TLS' : 'plain'} capture`).to.equal(!tls);
      expect(capture.includes(secret), `payload in the ${tls ? 'TLS' : 'plain'} capture`).to.equal(!tls);
      expect(capture.includes('echo'), `action in the ${tls ? 'TLS' : 'plain'} capture`).to.equal(!tls);
    }
  });

  it('speaks TLS 1.3 only: a TLS 1.2 client is refused during the handshake', async () => {
    const { port, errors } = await startServer();
    const err = await new Promise<Error>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
      socket.on('error', resolve);
      socket.on('secureConnect', () => resolve(new Error('connected')));
    });
    expect(err.message).to.not.equal('connected');
    await until(() => errors.some((e) => e instanceof TlsHandshakeError), WAIT_MS, 'the refusal on error$');
  });

  describe('pinning through the certificate as the only CA', () => {
    const sameCertificate = (a: { pem: string } | undefined, b: string): boolean => a !== undefined && new X509Certificate(a.pem).fingerprint256 === new X509Certificate(b).fingerprint256;

    it('learns the certificate in one failed handshake, then needs one handshake per connection', async () => {
      pinnedCertificates.forget(server.fingerprint);
      const certificate = selfSignedCertificate(server);
      const { port, errors } = await startServer({ tls: { keys: server, certificate } });
      const proxy = new FrameProxy(port);
      const proxyPort = await proxy.listen();
      cleanups.push(() => proxy.close());
      const first = client(proxyPort);
      await first.start();
      expect(proxy.connections, 'the learning handshake and the pinned one').to.equal(2);
      expect(sameCertificate(pinnedCertificates.get(server.fingerprint), certificate)).to.equal(true);
      await first.stop();
      const second = client(proxyPort);
      await second.start();
      expect(await second.request('echo', 2)).to.equal(2);
      expect(proxy.connections).to.equal(3);
      // The learning handshake is a client going away, not a failure: nothing on the server's error$.
      expect(errors, "the server's error$").to.deep.equal([]);
    });

    it('a server whose certificate changed (same key) is learned again, and the connection succeeds', async () => {
      const before = selfSignedCertificate(server);
      const after = selfSignedCertificate(server);
      const old = await startServer({ tls: { keys: server, certificate: before } });
      await client(old.port).start();
      expect(sameCertificate(pinnedCertificates.get(server.fingerprint), before)).to.equal(true);
      const renewed = await startServer({ tls: { keys: server, certificate: after } });
      const proxy = new FrameProxy(renewed.port);
      const proxyPort = await proxy.listen();
      cleanups.push(() => proxy.close());
      const connected = client(proxyPort);
      await connected.start();
      expect(await connected.request('echo', 'renewed')).to.equal('renewed');
      expect(proxy.connections, 'refused with the old certificate, the learning handshake, then the new one').to.equal(3);
      expect(sameCertificate(pinnedCertificates.get(server.fingerprint), after)).to.equal(true);
    });

    it('a wrong pin with a certificate remembered for it still aborts before anything is written', async () => {
      // bob's certificate is remembered for bob's pin; alice's server then fails the chain check, and its key the pin.
      const bobServer = await startServer({ tls: { keys: other } });
      await client(bobServer.port, { tls: { serverFingerprint: other.fingerprint } }).start();
      expect(pinnedCertificates.get(other.fingerprint)).to.not.equal(undefined);
      const { port } = await startServer();
      const proxy = new FrameProxy(port);
      const proxyPort = await proxy.listen();
      cleanups.push(() => proxy.close());
      const err = await failureOf(client(proxyPort, { tls: { serverFingerprint: other.fingerprint } }).start());
      expect(err).to.be.instanceOf(PinMismatchError).with.property('actual', server.fingerprint);
      // Refused by the remembered certificate, then by the pin once the new one is read: two handshakes,
      // each with only the client's encrypted Finished (one record of type 23).
      expect(proxy.connections).to.equal(2);
      expect(tlsRecords(Buffer.concat(proxy.toServer)).filter((type) => type === 23)).to.have.length.at.most(2);
    });
  });

  it('stop() during a TLS handshake gives it up at once: start() rejects, the socket closes, no timer is left', async () => {
    // A server that accepts TCP but never answers the ClientHello.
    const held: Socket[] = [];
    let closed = 0;
    const silent = createNetServer((socket) => {
      held.push(socket);
      // Read (and drop) the ClientHello, so that the client's close arrives as an end.
      socket.resume();
      socket.on('error', () => undefined);
      socket.on('close', () => closed++);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of held) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    // On a clock that never moves, so only stop() can end the handshake.
    const clock = new VirtualClock();
    const stuck = client((silent.address() as { port: number }).port, { scheduler: clock });
    const started = failureOf(stuck.start());
    await until(() => held.length === 1, WAIT_MS, 'the server to accept the TCP connection');
    await withDeadline(stuck.stop('give up'), WAIT_MS, 'stop()');
    const err = await started;
    expect(err).to.be.instanceOf(ConnectionClosedError);
    expect((err as Error).message).to.include('give up');
    await until(() => closed === 1, WAIT_MS, 'the client to close its socket');
    expect(clock.pending, 'timers left on the client clock').to.equal(0);
    expect(stuck.state).to.equal('closed');
  });

  describe('a peer that connects but never finishes the TLS handshake', () => {
    /** A TCP socket to the server that never sends a ClientHello; resolves once connected. */
    async function silentPeer(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
      const { connect } = await import('node:net');
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      cleanups.push(() => void socket.destroy());
      return { socket, closed };
    }

    it('server.stop() gives it up at once: stop resolves and the socket closes', async () => {
      // On a clock that never moves, so only stop() can end the handshake.
      const clock = new VirtualClock();
      const { server: instance, port } = await startServer({ scheduler: clock });
      const peer = await silentPeer(port);
      await until(() => clock.pending > 0, WAIT_MS, 'the server to see the TCP connection');
      await withDeadline(instance.stop(), WAIT_MS, 'stop()');
      await withDeadline(peer.closed, WAIT_MS, 'the peer socket to close');
      expect(instance.listening).to.equal(false);
    });

    for (const [limit, scope] of [['maxConnections', 'server'], ['maxConnectionsPerAddress', 'address']] as const) {
      it(`counts against ${limit}: one over it is closed at once and reported, and a handshake given up frees its place`, async () => {
        const clock = new VirtualClock();
        const { port, errors } = await startServer({ scheduler: clock, handshakeTimeoutMs: 5_000, [limit]: 2 });
        const held = [await silentPeer(port), await silentPeer(port)];
        await until(() => clock.pending >= 2, WAIT_MS, 'the server to see both connections');
        const third = await silentPeer(port);
        await withDeadline(third.closed, WAIT_MS, 'the connection over the limit to close');
        await until(() => errors.some((e) => e instanceof ConnectionLimitError), WAIT_MS, 'the refusal reported');
        expect(errors.find((e) => e instanceof ConnectionLimitError)).to.include({ scope, limit: 2 });
        clock.advance(5_000);
        await Promise.all(held.map((peer) => withDeadline(peer.closed, WAIT_MS, 'the held peers to be given up')));
        const good = client(port);
        await withDeadline(good.start(), WAIT_MS, 'a client once the places are free');
      });
    }

    it('is given up after handshakeTimeoutMs and reported as TlsHandshakeError, while a connection that finished lives on', async () => {
      const clock = new VirtualClock();
      const { port, errors } = await startServer({ scheduler: clock, handshakeTimeoutMs: 5_000 });
      const good = client(port);
      await good.start();
      const peer = await silentPeer(port);
      await until(() => clock.pending > 1, WAIT_MS, 'the server to see the TCP connection');
      const timedOut = (): PnetworkError[] => errors.filter((e) => e instanceof TlsHandshakeError && e.message.includes('not finished'));
      clock.advance(4_999);
      expect(timedOut(), 'before the timeout').to.have.length(0);
      clock.advance(1);
      await withDeadline(peer.closed, WAIT_MS, 'the peer socket to close');
      await until(() => timedOut().length > 0, WAIT_MS, 'the timeout to be reported');
      expect(timedOut()).to.have.length(1);
      expect(timedOut()[0]!.message).to.include('within 5000 ms');
      expect(await withDeadline(good.request('echo', 'still here'), WAIT_MS, 'a request')).to.equal('still here');
    });
  });

  it('never resumes a session: every connection checks the certificate again', async () => {
    const { port } = await startServer();
    const settings = resolveClientTls({ serverFingerprint: server.fingerprint });
    for (let i = 0; i < 2; i++) {
      const socket = (await dial('127.0.0.1', port, settings, { timeoutMs: WAIT_MS, scheduler: asyncScheduler }, netTransport)) as TLSSocket;
      expect(socket.isSessionReused()).to.equal(false);
      expect(socket.getProtocol()).to.equal('TLSv1.3');
      socket.destroy();
    }
  });

  describe('client certificates', () => {
    const member = fixtureKeys('bob');

    it('admits a client whose key is authorized and tells middleware its fingerprint', async () => {
      const { server: instance, port } = await startServer({ tls: { keys: server, authorizedKeys: [member.fingerprint] } });
      const connected = client(port, { tls: { serverFingerprint: server.fingerprint, keys: member } });
      await connected.start();
      expect(await connected.request('echo', 'hi')).to.equal('hi');
      const [side] = [...instance.clients.values()];
      expect(side?.peerFingerprint).to.equal(member.fingerprint);
    });

    for (const [what, keys] of [
      ['an unauthorized key', () => ({ keys: server })],
      ['no certificate', () => ({})],
    ] as const) {
      it(`refuses a client with ${what} with ERR_TLS_CLIENT_UNAUTHORIZED, and reports it`, async () => {
        const { server: instance, port, errors } = await startServer({ tls: { keys: server, authorizedKeys: [member.fingerprint] } });
        let handled = 0;
        instance.bindAction('touch', () => void handled++);
        const refused = client(port, { tls: { serverFingerprint: server.fingerprint, ...keys() } });
        const err = await failureOf(refused.start());
        expect(err).to.be.instanceOf(RemoteError).with.property('remoteCode', 'ERR_TLS_CLIENT_UNAUTHORIZED');
        await until(() => errors.some((e) => e instanceof UnauthorizedClientError), WAIT_MS, 'the refusal on error$');
        expect(instance.clients.size).to.equal(0);
        expect(handled).to.equal(0);
      });
    }
  });

  describe('certificates a CA issued', () => {
    it('works with a standard chain: the client checks it against the CA and the host name, without a pin', async () => {
      const { caCert, serverCert } = caIssued();
      const { port } = await startServer({ tls: { keys: server, certificate: serverCert } });
      const connected = client(port, { tls: { ca: caCert } });
      await connected.start();
      expect(await connected.request('echo', 1)).to.equal(1);
      expect(connected.connection?.peerFingerprint).to.equal(server.fingerprint);
    });

    it('refuses a certificate the CA did not issue', async () => {
      const { caCert } = caIssued();
      const { port } = await startServer();
      const err = await failureOf(client(port, { tls: { ca: caCert } }).start());
      expect(err).to.be.instanceOf(TlsHandshakeError).with.property('code', 'ERR_TLS_HANDSHAKE');
    });

    it('with a CA and a pin, both must hold', async () => {
      const { caCert, serverCert } = caIssued();
      const { port } = await startServer({ tls: { keys: server, certificate: serverCert } });
      const err = await failureOf(client(port, { tls: { ca: caCert, serverFingerprint: other.fingerprint } }).start());
      expect(err).to.be.instanceOf(PinMismatchError);
      const connected = client(port, { tls: { ca: caCert, serverFingerprint: server.fingerprint } });
      await connected.start();
    });
  });

  describe('options', () => {
    it('refuses a pin that is not a fingerprint, and keys that do not fit, at construction', () => {
      expect(() => new Client({ tls: { serverFingerprint: 'abc' } })).to.throw(RangeError);
      expect(() => new Server({ tls: { keys: { privateKey: server.privateKey, publicKey: other.publicKey } } })).to.throw(/not the pair/);
      expect(() => new Server({ tls: { keys: server, certificate: selfSignedCertificate(other) } })).to.throw(/another key/);
      expect(() => new Server({ tls: { keys: server, authorizedKeys: ['nope'] } })).to.throw(RangeError);
    });
  });
});

/** The content types of the TLS records in a byte stream. */
function tlsRecords(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt16BE(at + 3)) types.push(bytes[at]!);
  return types;
}
