/**
 * The RSA key (2048 bits) and certificate every TLS run uses, pnetwork's and the node:tls floor's alike,
 * so connect times compare the same key size. Read from the spec fixtures; the certificate is made once.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

interface BenchTls {
  key: string;
  publicKey: string;
  cert: string;
  fingerprint: string;
}

let cached: BenchTls | null = null;

/** The shared key pair, a self-signed certificate for it, and its SPKI SHA-256 fingerprint. */
export function benchTls(): BenchTls {
  if (cached) return cached;
  const read = (name: string): string => readFileSync(new URL(`../../spec/fixtures/keys/${name}`, import.meta.url), 'utf8');
  const key = read('alice-private.pem');
  const publicKey = read('alice-public.pem');
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey);
  certificate.serialNumber = '01';
  // Fixed dates (and RSA PKCS#1 v1.5 signatures being deterministic) make the same certificate in every
  // process, so the floor's client can trust exactly the certificate its server presents.
  certificate.validity.notBefore = new Date('2020-01-01T00:00:00Z');
  certificate.validity.notAfter = new Date('2100-01-01T00:00:00Z');
  certificate.setSubject([{ name: 'commonName', value: 'bench' }]);
  certificate.setIssuer([{ name: 'commonName', value: 'bench' }]);
  certificate.sign(forge.pki.privateKeyFromPem(key), forge.md.sha256.create());
  const cert = forge.pki.certificateToPem(certificate);
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  cached = { key, publicKey, cert, fingerprint: createHash('sha256').update(spki).digest('base64') };
  return cached;
}
