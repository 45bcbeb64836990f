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
  return fastEphemeralKey(secret) ?? derEphemeralKey(secret);
}

/**
 * The key pair through JWK import, about 8 times faster than DER on this machine (53 µs against 438 µs
 * for the private key: OpenSSL 3's DER decoder is slow). Node asks a private JWK for its public `x` but
 * builds the key from `d` alone, so `x` is a placeholder here and the real public key is the private
 * key applied to the base point (X25519(k, 9) is the public key, by definition). Null when this Node
 * refuses the placeholder: the DER path then runs. Only importing: exporting a fresh X25519 key as JWK
 * can hang Node 20 (CRYPTO.md).
 */
function fastEphemeralKey(secret: Uint8Array): EphemeralKey | null {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(secret).toString('base64url'), x: PLACEHOLDER_X }, format: 'jwk' });
  } catch {
    return null;
  }
  const publicKey = diffieHellman({ privateKey, publicKey: basePoint() });
  return { privateKey, publicKey };
}

function derEphemeralKey(secret: Uint8Array): EphemeralKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey: Buffer.from(spki.subarray(SPKI_PREFIX.length)) };
}

/** The `x` given with a private JWK, which Node does not use (see fastEphemeralKey). */
const PLACEHOLDER_X = Buffer.alloc(X25519_KEY_BYTES).toString('base64url');

let base: KeyObject | null = null;

/** X25519's base point, u = 9, as a public key. */
function basePoint(): KeyObject {
  base ??= peerKey(Buffer.concat([Buffer.of(9), Buffer.alloc(X25519_KEY_BYTES - 1)]));
  return base;
}

/** A peer's raw X25519 public key as a KeyObject: JWK import, five times faster than DER here. */
function peerKey(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_KEY_BYTES) throw new RangeError(`an X25519 public key is ${X25519_KEY_BYTES} bytes`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/**
 * The shared secret with the peer's raw public key.
 * @throws ChannelProtocolError when the peer's key is a low-order point (the secret would be all zeros)
 */
export function sharedSecret(own: EphemeralKey, peerPublicKey: Uint8Array): Buffer {
  try {
    const secret = diffieHellman({ privateKey: own.privateKey, publicKey: peerKey(peerPublicKey) });
    if (secret.every((byte) => byte === 0)) throw new Error('all-zero secret');
    return secret;
  } catch (err) {
    throw new ChannelProtocolError('the peer sent an unusable X25519 key', { cause: err });
  }
}
