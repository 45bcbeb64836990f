/**
 * TLS settings for Server and Client, checked and merged once at the public boundary.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { selfSignedCertificate } from '../crypto/certificate.js';
import { fingerprint, type EncryptKeys } from '../crypto/keys.js';
import { InvalidKeyError } from '../errors.js';

/** A server's TLS settings. */
export interface ServerTlsOptions {
  /** The server's key pair (from `createEncryptKeys` or `loadKeys`). */
  keys: Pick<EncryptKeys, 'privateKey' | 'publicKey'> & { certificate?: string };
  /**
   * The certificate chain to present, as PEM (leaf first), for example one a CA issued for `keys`.
   * @defaultValue `keys.certificate`, else a self-signed certificate made from `keys`
   */
  certificate?: string;
  /**
   * Fingerprints of the client keys allowed to connect. When set, every client must present a certificate
   * whose key is listed; any other is refused with `ERR_TLS_CLIENT_UNAUTHORIZED` before it is read.
   * @defaultValue no client certificate is asked for
   */
  authorizedKeys?: readonly string[];
}

/** A client's TLS settings. Give `serverFingerprint`, `ca`, or both. */
export interface ClientTlsOptions {
  /**
   * The server key's fingerprint (base64 SHA-256 of its SPKI, as `pnetwork keygen` prints). The
   * connection is aborted, before any byte of pnetwork is written, unless the server proves it holds
   * that key. With a pin, the certificate's names and issuer do not matter.
   */
  serverFingerprint?: string;
  /**
   * CA certificates (PEM) to verify the server's certificate chain and host name against, as any TLS
   * client does. Without a pin and without `ca`, Node's bundled CAs are used.
   */
  ca?: string | readonly string[];
  /** The client's own key pair, presented as a certificate (self-signed unless `certificate` is given). */
  keys?: Pick<EncryptKeys, 'privateKey' | 'publicKey'> & { certificate?: string };
  /** The client certificate chain to present instead of a self-signed one. */
  certificate?: string;
  /** The server name to send (SNI) and to check the certificate against. @defaultValue the host */
  servername?: string;
}

/** Checked server settings. */
export interface ResolvedServerTls {
  /** The server key's fingerprint, the value clients pin. */
  readonly fingerprint: string;
  readonly key: string;
  readonly cert: string;
  readonly authorizedKeys: ReadonlySet<string> | null;
}

/** Checked client settings. */
export interface ResolvedClientTls {
  readonly pin: string | null;
  readonly ca: string[] | undefined;
  readonly key: string | undefined;
  readonly cert: string | undefined;
  readonly servername: string | undefined;
}

/** The only TLS version pnetwork speaks, on both sides. */
export const TLS_VERSION = 'TLSv1.3';

const FINGERPRINT = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Checks a server's TLS settings and makes the certificate if none was given.
 * @throws InvalidKeyError when the keys do not pair or the certificate is for another key
 * @throws RangeError when a fingerprint in `authorizedKeys` is not one
 */
export function resolveServerTls(options: ServerTlsOptions | undefined): ResolvedServerTls | null {
  if (options === undefined) return null;
  const { key, cert } = identity(options.keys, options.certificate, 'tls.keys');
  const authorizedKeys = options.authorizedKeys === undefined ? null : new Set(options.authorizedKeys.map((fp) => checkFingerprint(fp, 'tls.authorizedKeys')));
  return { fingerprint: fingerprint(options.keys.publicKey), key, cert, authorizedKeys };
}

/**
 * Checks a client's TLS settings.
 * @throws RangeError when `serverFingerprint` is not a fingerprint
 * @throws InvalidKeyError when the client keys or certificate do not fit
 */
export function resolveClientTls(options: ClientTlsOptions | undefined): ResolvedClientTls | null {
  if (options === undefined) return null;
  const pin = options.serverFingerprint === undefined ? null : checkFingerprint(options.serverFingerprint, 'tls.serverFingerprint');
  const ca = options.ca === undefined ? undefined : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
  const own = options.keys === undefined ? undefined : identity(options.keys, options.certificate, 'tls.keys');
  return { pin, ca, key: own?.key, cert: own?.cert, servername: options.servername };
}

function identity(keys: ServerTlsOptions['keys'], certificate: string | undefined, where: string): { key: string; cert: string } {
  if (typeof keys !== 'object' || keys === null || typeof keys.privateKey !== 'string' || typeof keys.publicKey !== 'string') {
    throw new InvalidKeyError(`${where} must hold privateKey and publicKey as PEM`);
  }
  if (fingerprint(keys.privateKey) !== fingerprint(keys.publicKey)) throw new InvalidKeyError(`${where}: the public key is not the pair of the private key`);
  const cert = certificate ?? keys.certificate ?? selfSignedCertificate(keys);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (cause) {
    throw new InvalidKeyError(`${where}: the certificate cannot be parsed`, { cause });
  }
  if (fingerprint(leaf.publicKey) !== fingerprint(keys.publicKey)) throw new InvalidKeyError(`${where}: the certificate is for another key`);
  return { key: keys.privateKey, cert };
}

/** @internal Checks a fingerprint as pnetwork prints it, or in curl's `sha256//…` form; returns the bare form. */
export function checkFingerprint(value: unknown, where: string): string {
  if (typeof value === 'string' && value.startsWith('sha256//')) value = value.slice('sha256//'.length);
  if (typeof value !== 'string' || !FINGERPRINT.test(value)) {
    throw new RangeError(`${where} must be a base64 SHA-256 fingerprint (44 characters, as pnetwork keygen prints)`);
  }
  return value;
}

/**
 * What a failed TLS handshake most likely means, for its message: OpenSSL's 'wrong version number' is
 * what it says when the peer's first bytes are not a TLS record, a peer without TLS at all.
 */
export function tlsFailureHint(err: unknown, peer: 'client' | 'server'): string {
  return (err as { code?: unknown } | null)?.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ? ` (the ${peer} does not speak TLS: is it set up without tls?)` : '';
}
