/**
 * The server certificates that pinned TLS connections trust, one per pinned key fingerprint.
 *
 * A client that pins a key knows only its fingerprint, but node:tls checks a certificate only against
 * certificates it is given (`ca`). So the first connection to a pinned server learns the certificate the
 * server presents (that handshake fails Node's chain check and is dropped before anything is written),
 * and later connections pass it as `ca`. Remembering is only a hint: every connection still has its chain
 * checked by OpenSSL and its key compared with the pin, so a certificate kept here never lets another
 * key in. When a server's certificate changes (renewed, same key), the check fails once and the entry is
 * replaced.
 * @module
 */
import { DEFAULTS } from '../defaults.js';

/** A bounded map from pinned fingerprint to the server certificate (PEM) last seen with that key. */
export class PinnedCertificates {
  private readonly byPin = new Map<string, string>();

  constructor(private readonly limit: number) {}

  /** The certificate remembered for `pin`, if any. */
  get(pin: string): string | undefined {
    return this.byPin.get(pin);
  }

  /** Remembers `certificate` for `pin` (whose key the caller has checked), dropping the oldest entry past the limit. */
  remember(pin: string, certificate: string): void {
    this.byPin.delete(pin);
    this.byPin.set(pin, certificate);
    if (this.byPin.size > this.limit) this.byPin.delete(this.byPin.keys().next().value!);
  }

  /** Forgets the certificate for `pin`. */
  forget(pin: string): void {
    this.byPin.delete(pin);
  }

  /** How many certificates are remembered. */
  get size(): number {
    return this.byPin.size;
  }
}

/**
 * The certificates every client in this process shares: a process that opens many clients to the same
 * server learns its certificate once. Shared safely because an entry is trusted only for its own pin.
 */
export const pinnedCertificates = new PinnedCertificates(DEFAULTS.maxPinnedCertificates);
