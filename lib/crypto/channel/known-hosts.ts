/**
 * Trust on first use for the secure channel, as SSH's `known_hosts` does it: the first key a server
 * presents for an address is written to a file; later connections must present the same key.
 * @module
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KnownHostsMismatchError } from '../../errors.js';

/**
 * Reads `file` (one `host:port fingerprint` per line; `#` starts a comment) and checks `fingerprint`
 * for `host`. An address seen for the first time is appended with its key, the file made if need be.
 * @throws KnownHostsMismatchError when the file holds other keys for `host`
 */
export function checkKnownHost(file: string, host: string, fingerprint: string): void {
  const known = knownKeys(file, host);
  if (known.length === 0) {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${host} ${fingerprint}\n`, { mode: 0o600 });
    return;
  }
  if (!known.includes(fingerprint)) throw new KnownHostsMismatchError(file, host, fingerprint);
}

/** The keys `file` holds for `host` (several when a backup key was added by hand); none when there is no file. */
export function knownKeys(file: string, host: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const keys: string[] = [];
  for (const line of text.split('\n')) {
    const [entry, key] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (entry === host && key !== undefined) keys.push(key);
  }
  return keys;
}
