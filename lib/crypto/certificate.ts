/**
 * Self-signed X.509 certificates, made by node-forge from a key pair of ours, so TLS needs no CA.
 * Peers are trusted by key fingerprint (pinning), not by the certificate's names or issuer.
 * @module
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { DEFAULTS } from '../defaults.js';
import type { EncryptKeys } from './keys.js';

/** Options for {@link selfSignedCertificate}. */
export interface SelfSignedCertificateOptions {
  /** Subject and issuer common name. @defaultValue 'pnetwork' */
  commonName?: string;
  /** Days from now until the certificate expires. @defaultValue 3650 */
  validityDays?: number;
  /** The moment the certificate is made (tests fix it). @defaultValue now */
  now?: Date;
}

/**
 * Makes a self-signed certificate (SHA-256 RSA signature) for `keys`, usable by a TLS server and as a
 * client certificate. Its subject names localhost and 127.0.0.1, but pnetwork's pinning ignores names.
 * @param keys the pair from {@link createEncryptKeys} or {@link loadKeys}
 * @returns the certificate as PEM
 * @throws RangeError when `validityDays` is not a positive integer
 */
export function selfSignedCertificate(keys: Pick<EncryptKeys, 'publicKey' | 'privateKey'>, options: SelfSignedCertificateOptions = {}): string {
  const days = options.validityDays ?? DEFAULTS.certificateValidityDays;
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`validityDays must be a positive integer; got ${String(days)}`);
  const now = options.now ?? new Date();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  // A positive 128-bit serial: the top bit cleared keeps the DER integer from reading as negative.
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  // Valid from a minute ago, so a peer whose clock runs a little behind still accepts it.
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  const name = [{ name: 'commonName', value: options.commonName ?? 'pnetwork' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKey), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
