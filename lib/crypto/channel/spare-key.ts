/**
 * One X25519 key pair made ahead of need, for the server's side of the key exchange: making one costs
 * about 60 µs here, which a server would otherwise spend between a ClientHello and its answer. Each
 * spare is handed out once and dropped by the exchange that used it, so every session still has a key
 * of its own (forward secrecy is unchanged); the next spare is made after the current I/O is handled.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { X25519_KEY_BYTES } from './constants.js';
import { ephemeralKey, type EphemeralKey } from './x25519.js';

let spare: EphemeralKey | null = null;
let making = false;

/** A fresh key pair that nothing else has been or will be given: the spare when there is one. */
export function takeEphemeralKey(): EphemeralKey {
  const key = spare ?? ephemeralKey(randomBytes(X25519_KEY_BYTES));
  spare = null;
  if (!making) {
    making = true;
    // unref: a spare nobody asks for must not keep the process alive.
    setImmediate(makeSpare).unref();
  }
  return key;
}

function makeSpare(): void {
  making = false;
  try {
    spare ??= ephemeralKey(randomBytes(X25519_KEY_BYTES));
  } catch {
    // Nobody waits for a spare: the next exchange makes its key itself, and a failure there is that
    // connection's, reported as any failed exchange is.
  }
}
