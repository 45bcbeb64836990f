/**
 * X25519 ephemeral keys as raw 32-byte strings. Keys travel through DER, never JWK: on Node 20,
 * exporting a fresh X25519 key as JWK can hang the process (see CRYPTO.md).
 * @module
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { ChannelProtocolError } from '../../errors.js';
import { X25519_KEY_BYTES } from './constants.js';

/** DER prefix of an X25519 SubjectPublicKeyInfo; the raw key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
/** DER prefix of an X25519 PKCS#8 private key; the raw key follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** One side's ephemeral key pair for one connection. */
export interface EphemeralKey {
  readonly privateKey: KeyObject;
  /** The raw public key, as sent on the wire. */
  readonly publicKey: Buffer;
}

/** The X25519 key pair whose private key is these 32 bytes (clamping is X25519's own). */
export function ephemeralKey(secret: Uint8Array): EphemeralKey {
  if (secret.length !== X25519_KEY_BYTES) throw new RangeError(`an X25519 private key is ${X25519_KEY_BYTES} bytes`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey: Buffer.from(spki.subarray(SPKI_PREFIX.length)) };
}

/**
 * The shared secret with the peer's raw public key.
 * @throws ChannelProtocolError when the peer's key is a low-order point (the secret would be all zeros)
 */
export function sharedSecret(own: EphemeralKey, peerPublicKey: Uint8Array): Buffer {
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublicKey]), format: 'der', type: 'spki' });
    const secret = diffieHellman({ privateKey: own.privateKey, publicKey });
    if (secret.every((byte) => byte === 0)) throw new Error('all-zero secret');
    return secret;
  } catch (err) {
    throw new ChannelProtocolError('the peer sent an unusable X25519 key', { cause: err });
  }
}
