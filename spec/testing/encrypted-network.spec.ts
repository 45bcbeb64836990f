import { expect } from 'chai';
import { createTestPair } from '../../lib/testing/index.js';
import { fixtureKeys } from '../helpers/keys.js';

const keys = fixtureKeys('alice');

describe('pnetwork/testing with encryption', () => {
  it('runs the secure channel over the in-memory network: the key exchange, then requests in virtual time', async () => {
    const { network, server, client } = await createTestPair({
      server: { encryption: { keys } },
      client: { encryption: { serverFingerprint: keys.fingerprint }, requestTimeoutMs: 1_000 },
    });
    server.bindAction('sum', ({ a, b }: { a: number; b: number }) => a + b);
    server.bindAction('never', () => new Promise(() => undefined));
    const reply = client.request('sum', { a: 1, b: 2 });
    await network.settle();
    expect(await reply).to.equal(3);
    expect(client.connection!.security).to.equal('channel');
    expect(client.connection!.peerFingerprint).to.equal(keys.fingerprint);
    const late = client.request('never', null).then(
      () => 'replied',
      (err: { code?: string }) => err.code,
    );
    await network.advance(1_000);
    expect(await late).to.equal('ERR_REQUEST_TIMEOUT');
    expect(network.now).to.equal(1_000);
    await network.close();
  });

  it('refuses a wrong pin over the in-memory network as over TCP', async () => {
    const other = fixtureKeys('bob');
    const refused = await createTestPair({
      server: { encryption: { keys } },
      client: { encryption: { serverFingerprint: other.fingerprint } },
    }).then(
      () => null,
      (err: { code?: string }) => err.code,
    );
    expect(refused).to.equal('ERR_SERVER_KEY_MISMATCH');
  });

  it('shows the records, not the packets, in the wire log of an encrypted network', async () => {
    const { network, client } = await createTestPair({ server: { encryption: { keys } }, client: { encryption: { serverFingerprint: keys.fingerprint } } });
    await client.sendPacket('chat', 'hello');
    await network.settle();
    const frames = network.wire.packets();
    expect(frames.length).to.be.greaterThan(3);
    expect(frames.every((frame) => frame.packet === null && frame.raw !== undefined)).to.equal(true);
    expect(network.wire.actions().every((action) => action === '<raw>')).to.equal(true);
    await network.close();
  });
});
