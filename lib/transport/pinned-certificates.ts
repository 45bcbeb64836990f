/**
 * The server certificates that pinned TLS connections trust, one per pinned key fingerprint.
 *
 * A client that pins a key knows only its fingerprint, but node:tls checks a certificate only against
 * certificates it is given (`ca`). So the first connection to a pinned server learns the certificate the
 * server presents (that handshake fails Node's chain check and is dropped before anything is written),
 * and later connections pass it as `ca`. Remembering is only a hint: every connection still has its chain
 * checked by OpenSSL and its key compared with the pin, so a certificate kept here never lets another
 * key in. When a server's certificate changes (renewed, same key), the remembered one refuses it, the
 * entry is forgotten and the new certificate learned as on a first connection.
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { DEFAULTS } from '../defaults.js';
import { TLS_VERSION } from './tls-options.js';

/** A server certificate whose key was checked against a pin. */
export class PinnedCertificate {
  /** The certificate as PEM, for `ca`. */
  readonly pem: string;
  /** Its DER bytes, to recognise the same certificate without parsing it again. */
  readonly der: Buffer;
  private made: SecureContext | null = null;

  constructor(certificate: X509Certificate) {
    this.pem = certificate.toString();
    this.der = certificate.raw;
  }

  /** A TLS 1.3 client context that trusts only this certificate, made on first use. */
  context(): SecureContext {
    this.made ??= createSecureContext({ ca: [this.pem], minVersion: TLS_VERSION, maxVersion: TLS_VERSION });
    return this.made;
  }
}

/** A bounded map from pinned fingerprint to the server certificate last seen with that key. */
export class PinnedCertificates {
  private readonly byPin = new Map<string, PinnedCertificate>();

  constructor(private readonly limit: number) {}

  /** The certificate remembered for `pin`, if any. */
  get(pin: string): PinnedCertificate | undefined {
    return this.byPin.get(pin);
  }

  /**
   * Remembers `certificate` for `pin` (the caller has checked that its key is the pinned one), dropping
   * the oldest entry past the limit.
   */
  remember(pin: string, certificate: X509Certificate): PinnedCertificate {
    const entry = new PinnedCertificate(certificate);
    this.byPin.delete(pin);
    this.byPin.set(pin, entry);
    if (this.byPin.size > this.limit) this.byPin.delete(this.byPin.keys().next().value!);
    return entry;
  }

  /** Forgets the certificate for `pin`; with `entry`, only if that is still the one remembered. */
  forget(pin: string, entry?: PinnedCertificate): void {
    if (entry === undefined || this.byPin.get(pin) === entry) this.byPin.delete(pin);
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
