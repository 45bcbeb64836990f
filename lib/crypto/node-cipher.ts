/**
 * The node:crypto cipher back end (native OpenSSL): the default, and many times faster than forge.
 * @module
 */
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt } from 'node:crypto';
import type { CipherBackend } from './cipher-backend.js';

const TAG_BYTES = 16;

/** RSA-OAEP and AES-256-GCM from node:crypto. */
export const nodeCipher: CipherBackend = {
  name: 'node',
  wrapKey(contentKey, recipient, seed) {
    if (seed !== undefined) throw new Error('the node back end cannot fix the OAEP seed');
    // oaepHash sets both the OAEP hash and MGF1's.
    return publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
  },
  unwrapKey(wrapped, privateKey) {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
  },
  seal(contentKey, iv, plaintext, aad) {
    const cipher = createCipheriv('aes-256-gcm', contentKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext, tag: cipher.getAuthTag() };
  },
  open(contentKey, iv, ciphertext, tag, aad) {
    // Without authTagLength, Node 20 accepts a tag as short as 4 bytes.
    if (tag.length !== TAG_BYTES) throw new Error('tag must be 16 bytes');
    const decipher = createDecipheriv('aes-256-gcm', contentKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    // update() hands out plaintext before the tag is checked; nothing leaves until final() succeeds.
    const head = decipher.update(ciphertext);
    const tail = decipher.final();
    return Buffer.concat([head, tail]);
  },
};
