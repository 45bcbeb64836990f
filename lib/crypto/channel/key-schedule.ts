/**
 * The channel's key schedule: transcript hashes, what each side signs, and HKDF-SHA256 from the
 * X25519 secret to one traffic secret per direction, then to each key, IV and next secret.
 * Pure functions of their inputs: the known-answer specs pin every output.
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import {
  KEY_BYTES,
  LABEL_CLIENT_SIGNATURE,
  LABEL_CLIENT_TO_SERVER,
  LABEL_IV,
  LABEL_KEY,
  LABEL_NEXT,
  LABEL_SERVER_SIGNATURE,
  LABEL_SERVER_TO_CLIENT,
  NONCE_BYTES,
} from './constants.js';

/** One direction's AES-256-GCM key and IV, derived from its traffic secret. */
export interface TrafficKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** The two traffic secrets of one session. */
export interface SessionSecrets {
  readonly clientToServer: Buffer;
  readonly serverToClient: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** SHA-256 over the given parts, in order. */
export function transcriptHash(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** What the server signs: its label, a zero byte, and the hash of ClientHello and ServerHello up to the signature. */
export function serverSignedContent(signingHash: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(LABEL_SERVER_SIGNATURE, 'latin1'), Buffer.of(0), signingHash]);
}

/** What a client with keys signs: its label, a zero byte, and the hash of both complete hellos. */
export function clientSignedContent(transcript: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(LABEL_CLIENT_SIGNATURE, 'latin1'), Buffer.of(0), transcript]);
}

/**
 * HKDF-SHA256 (RFC 5869, extract then expand) of at most 32 bytes: one HMAC for each step. Written out
 * because node:crypto's hkdfSync took 19 us per call here against 5 us per HMAC, and a connection
 * derives six values on each side. An empty salt is HMAC's zero key, as the RFC says.
 */
function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Buffer {
  if (length > HASH_BYTES) throw new RangeError(`hkdf here gives at most ${HASH_BYTES} bytes`);
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const okm = createHmac('sha256', prk).update(Buffer.from(info, 'latin1')).update(COUNTER_ONE).digest();
  return okm.subarray(0, length);
}

const HASH_BYTES = 32;
/** The counter byte of HKDF-Expand's first (and here only) block. */
const COUNTER_ONE = Buffer.of(1);

/** Both directions' first traffic secrets: HKDF of the X25519 secret, salted with the transcript hash. */
export function sessionSecrets(shared: Uint8Array, transcript: Uint8Array): SessionSecrets {
  return {
    clientToServer: hkdf(shared, transcript, LABEL_CLIENT_TO_SERVER, KEY_BYTES),
    serverToClient: hkdf(shared, transcript, LABEL_SERVER_TO_CLIENT, KEY_BYTES),
  };
}

/** The key and IV a traffic secret gives. */
export function trafficKeys(secret: Uint8Array): TrafficKeys {
  return { key: hkdf(secret, EMPTY, LABEL_KEY, KEY_BYTES), iv: hkdf(secret, EMPTY, LABEL_IV, NONCE_BYTES) };
}

/** The traffic secret that follows a key update; the old one cannot be computed back from it. */
export function nextSecret(secret: Uint8Array): Buffer {
  return hkdf(secret, EMPTY, LABEL_NEXT, KEY_BYTES);
}
