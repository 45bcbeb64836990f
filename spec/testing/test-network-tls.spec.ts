import { expect } from 'chai';
import { PinMismatchError, RemoteError } from '../../lib/index.js';
import { createTestNetwork, createTestPair } from '../../lib/testing/index.js';
import { fixtureKeys } from '../helpers/keys.js';

const alice = fixtureKeys('alice');
const bob = fixtureKeys('bob');

describe('pnetwork/testing over TLS', () => {
  it('runs TLS 1.3 over the in-memory network: a pinned client gets its reply on an encrypted connection', async () => {
    const { network, server, client } = await createTestPair({ server: { tls: { keys: alice } }, client: { tls: { serverFingerprint: alice.fingerprint } } });
    server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
    const reply = client.request('sum', { a: 1, b: 2 });
    await network.settle();
    expect(await reply).to.equal(3);
    expect(client.connection?.encrypted).to.equal(true);
    expect([...server.clients.values()].map((connection) => connection.encrypted)).to.deep.equal([true]);
    // The bytes between the ends are TLS records: the wire log finds no packet in them.
    expect(network.wire.packets()).to.deep.equal([]);
    expect(network.now).to.equal(0);
    await network.close();
  });

  it('refuses a server whose key is not the pinned one with PinMismatchError', async () => {
    const network = await createTestNetwork({ server: { tls: { keys: alice } } });
    const failure = await network.connect({ tls: { serverFingerprint: bob.fingerprint }, reconnect: false }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(PinMismatchError);
    expect((failure as PinMismatchError).code).to.equal('ERR_TLS_PIN_MISMATCH');
    expect(network.server.clients.size).to.equal(0);
    await network.close();
  });

  it('admits a client certificate on the list, gives its fingerprint, and refuses another key', async () => {
    const network = await createTestNetwork({ server: { tls: { keys: alice, authorizedKeys: [bob.fingerprint] } } });
    const admitted = await network.connect({ tls: { serverFingerprint: alice.fingerprint, keys: bob } });
    expect([...network.server.clients.values()].map((connection) => connection.peerFingerprint)).to.deep.equal([bob.fingerprint]);
    const refused = await network.connect({ tls: { serverFingerprint: alice.fingerprint, keys: alice }, reconnect: false }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).to.be.instanceOf(RemoteError);
    expect((refused as RemoteError).remoteCode).to.equal('ERR_TLS_CLIENT_UNAUTHORIZED');
    expect(admitted.state).to.equal('connected');
    await network.close();
  });
});
