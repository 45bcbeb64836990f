import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ClientKeyExchange, answerClientHello, channelIdentity, spkiFingerprint, verifyClientAuth } from '../../../lib/crypto/channel/exchange.js';
import { nextSecret, sessionSecrets, trafficKeys, transcriptHash } from '../../../lib/crypto/channel/key-schedule.js';
import { decodeServerHello } from '../../../lib/crypto/channel/messages.js';
import { RecordOpener, RecordSealer } from '../../../lib/crypto/channel/records.js';
import { ephemeralKey, sharedSecret } from '../../../lib/crypto/channel/x25519.js';
import { CONTENT_CLIENT_AUTH, CONTENT_DATA } from '../../../lib/crypto/channel/constants.js';
import { channelVector, countingBytes, fixedRandom, vectorBytes } from '../../helpers/channel-vector.js';

const HELLO_FRAME = Buffer.from('0000000568656c6c6f', 'hex');

describe('crypto/channel: the test vector in docs/protocol.md', () => {
  const vector = channelVector();
  const v = (name: string): Buffer => vectorBytes(vector, name);
  const serverIdentity = channelIdentity(readFileSync(new URL('../../fixtures/channel/server-key.pem', import.meta.url), 'utf8'));
  const newClient = (): ClientKeyExchange =>
    new ClientKeyExchange({ random: fixedRandom(countingBytes(0x00), countingBytes(0x20)), trustServerKey: () => undefined, rekeyAfterRecords: 1000 });

  it('uses counting bytes for the randoms and X25519 private keys', () => {
    expect(v('client_random')).to.deep.equal(countingBytes(0x00));
    expect(v('client_x25519_private')).to.deep.equal(countingBytes(0x20));
    expect(v('server_random')).to.deep.equal(countingBytes(0x40));
    expect(v('server_x25519_private')).to.deep.equal(countingBytes(0x60));
  });

  it('derives the X25519 public keys and the shared secret', () => {
    const client = ephemeralKey(v('client_x25519_private'));
    const server = ephemeralKey(v('server_x25519_private'));
    expect(client.publicKey.toString('hex')).to.equal(vector.client_x25519_public);
    expect(server.publicKey.toString('hex')).to.equal(vector.server_x25519_public);
    expect(sharedSecret(client, server.publicKey).toString('hex')).to.equal(vector.shared_secret);
    expect(sharedSecret(server, client.publicKey).toString('hex')).to.equal(vector.shared_secret);
  });

  it('builds the ClientHello byte for byte', () => {
    expect(newClient().hello.toString('hex')).to.equal(vector.client_hello);
  });

  it('builds the ServerHello byte for byte up to its (randomised) RSA-PSS signature', () => {
    const { reply } = answerClientHello({ random: fixedRandom(countingBytes(0x40), countingBytes(0x60)), identity: serverIdentity, rekeyAfterRecords: 1000 }, v('client_hello'));
    const { unsignedLength } = decodeServerHello(v('server_hello'));
    expect(reply.subarray(0, unsignedLength).toString('hex')).to.equal(v('server_hello').subarray(0, unsignedLength).toString('hex'));
    expect(reply.length).to.equal(v('server_hello').length);
  });

  it('carries the server key, whose fingerprint is base64 SHA-256 of its SPKI', () => {
    const { hello } = decodeServerHello(v('server_hello'));
    expect(hello.serverKey.toString('hex')).to.equal(vector.server_key);
    expect(hello.serverKey).to.deep.equal(serverIdentity.publicKeyDer);
    expect(spkiFingerprint(hello.serverKey)).to.equal(vector.server_fingerprint);
  });

  it('hashes the transcript as documented', () => {
    const { unsignedLength } = decodeServerHello(v('server_hello'));
    expect(transcriptHash(v('client_hello'), v('server_hello').subarray(0, unsignedLength)).toString('hex')).to.equal(vector.signing_hash);
    expect(transcriptHash(v('client_hello'), v('server_hello')).toString('hex')).to.equal(vector.transcript);
  });

  it('derives each direction\'s secret, key, IV and next secret', () => {
    const secrets = sessionSecrets(v('shared_secret'), v('transcript'));
    expect(secrets.clientToServer.toString('hex')).to.equal(vector.c2s_secret);
    expect(secrets.serverToClient.toString('hex')).to.equal(vector.s2c_secret);
    expect(trafficKeys(secrets.clientToServer).key.toString('hex')).to.equal(vector.c2s_key);
    expect(trafficKeys(secrets.clientToServer).iv.toString('hex')).to.equal(vector.c2s_iv);
    expect(trafficKeys(secrets.serverToClient).key.toString('hex')).to.equal(vector.s2c_key);
    expect(trafficKeys(secrets.serverToClient).iv.toString('hex')).to.equal(vector.s2c_iv);
    expect(nextSecret(secrets.clientToServer).toString('hex')).to.equal(vector.c2s_next_secret);
  });

  it('verifies the vector\'s server signature and seals the documented records', () => {
    const channel = newClient().receive(v('server_hello'));
    expect(channel.transcript.toString('hex')).to.equal(vector.transcript);
    expect(channel.serverFingerprint).to.equal(vector.server_fingerprint);
    expect(channel.firstRecord.toString('hex')).to.equal(vector.record_c2s_0);
    expect(channel.sealer.seal(HELLO_FRAME).toString('hex')).to.equal(vector.record_c2s_1);
    expect(new RecordSealer(v('s2c_secret'), 1000).seal(HELLO_FRAME).toString('hex')).to.equal(vector.record_s2c_0);
  });

  it('opens the documented records on the other side', () => {
    const server = new RecordOpener(v('c2s_secret'));
    const auth = server.open(v('record_c2s_0').subarray(4));
    expect(auth.type).to.equal(CONTENT_CLIENT_AUTH);
    expect(verifyClientAuth(auth.content, v('transcript'))).to.equal(null);
    const data = server.open(v('record_c2s_1').subarray(4));
    expect(data).to.deep.equal({ type: CONTENT_DATA, content: HELLO_FRAME });
    expect(new RecordOpener(v('s2c_secret')).open(v('record_s2c_0').subarray(4))).to.deep.equal({ type: CONTENT_DATA, content: HELLO_FRAME });
  });
});
