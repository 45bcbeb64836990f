import { expect } from 'chai';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ChannelProtocolError } from '../../../lib/errors.js';
import { ephemeralKey, sharedSecret } from '../../../lib/crypto/channel/x25519.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

/** The public key as Node derives it through DER, the slower way ephemeralKey avoids. */
function publicKeyByDer(secret: Uint8Array): Buffer {
  const der = Buffer.concat([hex('302e020100300506032b656e04220420'), secret]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
  return Buffer.from(spki.subarray(12));
}

describe('crypto/channel/x25519', () => {
  it('matches RFC 7748 §6.1: both public keys and the shared secret', () => {
    const alice = ephemeralKey(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = ephemeralKey(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(alice.publicKey.toString('hex')).to.equal('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(bob.publicKey.toString('hex')).to.equal('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(sharedSecret(alice, bob.publicKey).toString('hex')).to.equal(shared);
    expect(sharedSecret(bob, alice.publicKey).toString('hex')).to.equal(shared);
  });

  it('derives the same public key as Node does through DER, for any secret (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        expect(ephemeralKey(secret).publicKey.equals(publicKeyByDer(secret))).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a low-order peer key (an all-zero secret) and a key of the wrong length with ChannelProtocolError', () => {
    const own = ephemeralKey(randomBytes(32));
    expect(() => sharedSecret(own, Buffer.alloc(32))).to.throw(ChannelProtocolError);
    expect(() => sharedSecret(own, Buffer.alloc(31, 1))).to.throw(ChannelProtocolError);
    expect(() => ephemeralKey(Buffer.alloc(31))).to.throw(RangeError);
  });
});
