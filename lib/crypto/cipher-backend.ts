/**
 * The two primitives a sealed packet needs (RSA-OAEP key wrapping, AES-256-GCM), behind one interface
 * with two implementations: node:crypto (native, the default) and node-forge (pure JavaScript).
 * Keys arrive as node:crypto KeyObjects, so parsing and checking a key is always node:crypto's job.
 * @module
 */
import type { KeyObject } from 'node:crypto';

/** Names of the cipher back ends. */
export type CipherBackendName = 'node' | 'forge';

/** AES-256-GCM output: the ciphertext (as long as the plaintext) and the 16-byte tag. */
export interface Sealed {
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/** What a sealed packet needs from a crypto library. Every method throws on failure. */
export interface CipherBackend {
  /** Which library this is. */
  readonly name: CipherBackendName;
  /** RSA-OAEP with SHA-256 (hash and MGF1), empty label. `seed` fixes OAEP's randomness (known-answer tests only). */
  wrapKey(contentKey: Buffer, recipient: KeyObject, seed?: Buffer): Buffer;
  /** Inverse of {@link CipherBackend.wrapKey}. */
  unwrapKey(wrapped: Buffer, privateKey: KeyObject): Buffer;
  /** AES-256-GCM with a 12-byte IV and a 16-byte tag. */
  seal(contentKey: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer): Sealed;
  /** Verifies the tag and only then returns the plaintext; throws when it does not verify. */
  open(contentKey: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer;
}
