import { readFileSync } from 'node:fs';
import { fingerprint, type EncryptKeys } from '../../lib/crypto/keys.js';

/** A fixed 2048-bit key pair from spec/fixtures/keys (made with openssl), with its openssl-computed fingerprint. */
export function fixtureKeys(name: 'alice' | 'bob'): EncryptKeys & { opensslFingerprint: string } {
  const read = (file: string): string => readFileSync(new URL(`../fixtures/keys/${name}-${file}`, import.meta.url), 'utf8');
  const publicKey = read('public.pem');
  return { publicKey, privateKey: read('private.pem'), fingerprint: fingerprint(publicKey), opensslFingerprint: read('fingerprint.txt').trim() };
}
