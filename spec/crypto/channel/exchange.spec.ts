import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ChannelProtocolError, ServerKeyMismatchError, SignatureError } from '../../../lib/errors.js';
import { CONTENT_CLIENT_AUTH } from '../../../lib/crypto/channel/constants.js';
import { ClientKeyExchange, answerClientHello, channelIdentity, spkiFingerprint, verifyClientAuth, type ChannelIdentity } from '../../../lib/crypto/channel/exchange.js';
import { decodeServerHello, encodeServerHello } from '../../../lib/crypto/channel/messages.js';

const pem = (name: string): string => readFileSync(new URL(`../../fixtures/channel/${name}.pem`, import.meta.url), 'utf8');
const server = channelIdentity(pem('server-key'));
const client = channelIdentity(pem('client-key'));

function exchange(options: { identity?: ChannelIdentity; trust?: (fingerprint: string) => void; tamper?: (reply: Buffer) => Buffer } = {}) {
  const clientSide = new ClientKeyExchange({ random: randomBytes, trustServerKey: options.trust ?? (() => undefined), identity: options.identity ?? null, rekeyAfterRecords: 1000 });
  const serverSide = answerClientHello({ random: randomBytes, identity: server, rekeyAfterRecords: 1000 }, clientSide.hello);
  const reply = options.tamper ? options.tamper(Buffer.from(serverSide.reply)) : serverSide.reply;
  return { clientChannel: clientSide.receive(reply), serverSide };
}

describe('crypto/channel/exchange', () => {
  it('gives both sides matching keys: what one seals the other opens, in each direction', () => {
    const { clientChannel, serverSide } = exchange();
    const auth = serverSide.opener.open(clientChannel.firstRecord.subarray(4));
    expect(auth.type).to.equal(CONTENT_CLIENT_AUTH);
    expect(verifyClientAuth(auth.content, serverSide.transcript)).to.equal(null);
    expect(serverSide.opener.open(clientChannel.sealer.seal(Buffer.from('up')).subarray(4)).content.toString()).to.equal('up');
    expect(clientChannel.opener.open(serverSide.sealer.seal(Buffer.from('down')).subarray(4)).content.toString()).to.equal('down');
    expect(clientChannel.serverFingerprint).to.equal(spkiFingerprint(server.publicKeyDer));
  });

  it('uses different keys per direction and per session', () => {
    const one = exchange();
    const two = exchange();
    const sealed = (channel: { sealer: { seal(b: Buffer): Buffer } }): string => channel.sealer.seal(Buffer.alloc(16)).toString('hex');
    const records = [sealed(one.clientChannel), sealed(one.serverSide), sealed(two.clientChannel), sealed(two.serverSide)];
    expect(new Set(records).size).to.equal(4);
    expect(one.clientChannel.transcript).to.not.deep.equal(two.clientChannel.transcript);
  });

  it('lets the pin refuse the server key before anything is derived or sealed', () => {
    const refusal = new ServerKeyMismatchError('x', ['y']);
    expect(() => exchange({ trust: () => { throw refusal; } })).to.throw(refusal);
  });

  it('refuses a ServerHello whose signature, random or X25519 key was changed', () => {
    const { unsignedLength } = decodeServerHello(answerClientHello({ random: randomBytes, identity: server, rekeyAfterRecords: 1000 }, new ClientKeyExchange({ random: randomBytes, trustServerKey: () => undefined, rekeyAfterRecords: 1000 }).hello).reply);
    for (const offset of [6, 6 + 32, unsignedLength + 10]) {
      expect(() => exchange({ tamper: (reply) => { reply[offset]! ^= 1; return reply; } })).to.throw(SignatureError).with.property('code', 'ERR_BAD_SIGNATURE');
    }
  });

  it('checks the signature of a server key it has seen before on every exchange (the parsed key is kept, not the verdict)', () => {
    const seen = exchange();
    expect(seen.clientChannel.serverFingerprint).to.equal(spkiFingerprint(server.publicKeyDer));
    const reply = Buffer.from(seen.serverSide.reply);
    const { unsignedLength } = decodeServerHello(reply);
    expect(() => exchange({ tamper: (fresh) => { fresh[unsignedLength + 10]! ^= 1; return fresh; } })).to.throw(SignatureError);
    // The same key and signature, replayed into another session, do not verify either.
    expect(() => exchange({ tamper: () => reply })).to.throw(SignatureError);
  });

  it('refuses a ServerHello signed by a key other than the one it presents', () => {
    const other = channelIdentity(pem('other-key'));
    expect(() =>
      exchange({
        tamper: (reply) => {
          const { hello } = decodeServerHello(reply);
          return encodeServerHello({ ...hello, serverKey: other.publicKeyDer });
        },
      }),
    ).to.throw(SignatureError);
  });

  it('refuses a server key that is not RSA', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    expect(() => exchange({ tamper: (reply) => encodeServerHello({ ...decodeServerHello(reply).hello, serverKey: ec.publicKey }) })).to.throw(ChannelProtocolError, /not RSA/);
  });

  it('refuses malformed messages with ChannelProtocolError', () => {
    const hello = new ClientKeyExchange({ random: randomBytes, trustServerKey: () => undefined, rekeyAfterRecords: 1000 }).hello;
    const answer = (bytes: Buffer) => () => answerClientHello({ random: randomBytes, identity: server, rekeyAfterRecords: 1000 }, bytes);
    expect(answer(hello.subarray(0, 69))).to.throw(ChannelProtocolError);
    expect(answer(Buffer.concat([hello, Buffer.of(0)]))).to.throw(ChannelProtocolError);
    expect(answer(Buffer.from('{"action":"handshake"}'))).to.throw(ChannelProtocolError, /PNSC/);
    const version = Buffer.from(hello);
    version[4] = 2;
    expect(answer(version)).to.throw(ChannelProtocolError, /version 2/);
    const type = Buffer.from(hello);
    type[5] = 2;
    expect(answer(type)).to.throw(ChannelProtocolError, /type 2/);
    expect(() => exchange({ tamper: (reply) => reply.subarray(0, reply.length - 1) })).to.throw(ChannelProtocolError, /truncated/);
    expect(() => exchange({ tamper: (reply) => Buffer.concat([reply, Buffer.of(1)]) })).to.throw(ChannelProtocolError, /too many/);
  });

  it('refuses a low-order X25519 key (an all-zero shared secret)', () => {
    const hello = Buffer.from(new ClientKeyExchange({ random: randomBytes, trustServerKey: () => undefined, rekeyAfterRecords: 1000 }).hello);
    hello.fill(0, 38);
    expect(() => answerClientHello({ random: randomBytes, identity: server, rekeyAfterRecords: 1000 }, hello)).to.throw(ChannelProtocolError, /X25519/);
  });

  it('signs the transcript with a client key; the server learns its fingerprint, and a signature for another session fails', () => {
    const { clientChannel, serverSide } = exchange({ identity: client });
    const auth = serverSide.opener.open(clientChannel.firstRecord.subarray(4));
    expect(verifyClientAuth(auth.content, serverSide.transcript)).to.equal(spkiFingerprint(client.publicKeyDer));
    expect(() => verifyClientAuth(auth.content, exchange().serverSide.transcript)).to.throw(SignatureError);
  });

  it('refuses the seed of an identity that is not RSA, or not a key at all, without quoting it', () => {
    expect(() => channelIdentity('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----')).to.throw(RangeError, /not a PEM RSA private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    expect(() => channelIdentity(ec.privateKey)).to.throw(RangeError, /RSA/);
  });
});
