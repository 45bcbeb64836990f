/**
 * The node-forge cipher back end: pure JavaScript, the same code that runs where node:crypto does not.
 * forge gets keys already parsed and checked by node:crypto (as their numbers), never PEM or DER from a peer.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { CipherBackend } from './cipher-backend.js';

const TAG_BITS = 128;

/** forge works on "binary strings": one character per byte. */
const bin = (bytes: Buffer): string => bytes.toString('binary');
const buf = (text: string): Buffer => Buffer.from(text, 'binary');

// Converting a key costs more than using it; keep one forge key per KeyObject while it lives.
const publicKeys = new WeakMap<KeyObject, forge.pki.rsa.PublicKey>();
const privateKeys = new WeakMap<KeyObject, forge.pki.rsa.PrivateKey>();

const big = (base64url: string | undefined): forge.jsbn.BigInteger => {
  if (base64url === undefined) throw new Error('RSA key lacks a component');
  return new forge.jsbn.BigInteger(Buffer.from(base64url, 'base64url').toString('hex'), 16);
};

function forgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  let converted = publicKeys.get(key);
  if (!converted) {
    const jwk = key.export({ format: 'jwk' });
    converted = forge.pki.setRsaPublicKey(big(jwk.n), big(jwk.e));
    publicKeys.set(key, converted);
  }
  return converted;
}

function forgePrivateKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  let converted = privateKeys.get(key);
  if (!converted) {
    const jwk = key.export({ format: 'jwk' });
    converted = forge.pki.setRsaPrivateKey(big(jwk.n), big(jwk.e), big(jwk.d), big(jwk.p), big(jwk.q), big(jwk.dp), big(jwk.dq), big(jwk.qi));
    privateKeys.set(key, converted);
  }
  return converted;
}

/** forge's OAEP defaults to SHA-1 for both hash and MGF1; name SHA-256 for each, fresh every call (digests keep state). */
const oaep = (seed?: Buffer): { md: forge.md.MessageDigest; mgf1: { md: forge.md.MessageDigest }; seed?: string } => ({
  md: forge.md.sha256.create(),
  mgf1: { md: forge.md.sha256.create() },
  ...(seed === undefined ? {} : { seed: bin(seed) }),
});

/** RSA-OAEP and AES-256-GCM from node-forge. */
export const forgeCipher: CipherBackend = {
  name: 'forge',
  wrapKey(contentKey, recipient, seed) {
    return buf(forgePublicKey(recipient).encrypt(bin(contentKey), 'RSA-OAEP', oaep(seed)));
  },
  unwrapKey(wrapped, privateKey) {
    return buf(forgePrivateKey(privateKey).decrypt(bin(wrapped), 'RSA-OAEP', oaep()));
  },
  seal(contentKey, iv, plaintext, aad) {
    const cipher = forge.cipher.createCipher('AES-GCM', forge.util.createBuffer(bin(contentKey)));
    cipher.start({ iv: bin(iv), additionalData: bin(aad), tagLength: TAG_BITS });
    cipher.update(forge.util.createBuffer(bin(plaintext)));
    cipher.finish();
    return { ciphertext: buf(cipher.output.getBytes()), tag: buf(cipher.mode.tag.getBytes()) };
  },
  open(contentKey, iv, ciphertext, tag, aad) {
    if (tag.length !== TAG_BITS / 8) throw new Error('tag must be 16 bytes');
    const decipher = forge.cipher.createDecipher('AES-GCM', forge.util.createBuffer(bin(contentKey)));
    decipher.start({ iv: bin(iv), additionalData: bin(aad), tagLength: TAG_BITS, tag: forge.util.createBuffer(bin(tag)) });
    decipher.update(forge.util.createBuffer(bin(ciphertext)));
    // finish() is false when the tag does not verify; the output is released only after it is true.
    if (!decipher.finish()) throw new Error('tag does not verify');
    return buf(decipher.output.getBytes());
  },
};
