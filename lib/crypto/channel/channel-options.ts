/**
 * The `encryption` option of Server and Client (the secure channel), checked once at the public boundary.
 * @module
 */
import { DEFAULTS } from '../../defaults.js';
import { InvalidKeyError, ServerKeyMismatchError } from '../../errors.js';
import { checkFingerprint } from '../../transport/tls-options.js';
import { fingerprint, type EncryptKeys } from '../keys.js';
import { channelIdentity, type ChannelIdentity } from './exchange.js';
import { checkKnownHost } from './known-hosts.js';

/** A server's secure-channel settings. */
export interface ServerEncryptionOptions {
  /** The server's RSA key pair (from `createEncryptKeys` or `loadKeys`); clients pin its fingerprint. */
  keys: Pick<EncryptKeys, 'privateKey' | 'publicKey'>;
  /**
   * Fingerprints of the client keys allowed to connect. When set, a client must sign the key exchange
   * with one of these keys; any other, or one without a key, is refused with `ERR_CLIENT_KEY_REFUSED`.
   * @defaultValue every client may connect, with or without a key
   */
  authorizedKeys?: readonly string[];
}

/** A client's secure-channel settings: `serverFingerprint`, `knownHosts`, or both (then the key must pass both). */
export interface ClientEncryptionOptions {
  /**
   * The server key's fingerprint (base64 SHA-256 of its SPKI, as `pnetwork keygen` prints), or several:
   * list the next key beside the current one before rotating the server's key (a backup pin).
   */
  serverFingerprint?: string | readonly string[];
  /**
   * A known_hosts file for trust on first use: the first key a server presents for its `host:port` is
   * written there, and a different key later is refused with `ERR_KNOWN_HOSTS_MISMATCH`.
   */
  knownHosts?: string;
  /** The client's own RSA key pair: it signs the key exchange, and the server sees its fingerprint. */
  keys?: Pick<EncryptKeys, 'privateKey' | 'publicKey'>;
}

/** Checked server settings. */
export interface ResolvedServerEncryption {
  readonly identity: ChannelIdentity;
  /** The server key's fingerprint, the value clients pin. */
  readonly fingerprint: string;
  readonly authorizedKeys: ReadonlySet<string> | null;
  readonly rekeyAfterRecords: number;
}

/** Checked client settings. */
export interface ResolvedClientEncryption {
  readonly identity: ChannelIdentity | null;
  /** Accepts the server's key for `host:port`, or throws the error that refuses it. */
  readonly trust: (host: string, fingerprint: string) => void;
  readonly rekeyAfterRecords: number;
}

/**
 * @throws InvalidKeyError when the keys are missing, do not pair, or are not RSA
 * @throws RangeError when an authorized key is not a fingerprint
 */
export function resolveServerEncryption(options: ServerEncryptionOptions | undefined): ResolvedServerEncryption | null {
  if (options === undefined) return null;
  const identity = identityOf(options.keys, 'encryption.keys');
  const authorizedKeys = options.authorizedKeys === undefined ? null : new Set(options.authorizedKeys.map((fp) => checkFingerprint(fp, 'encryption.authorizedKeys')));
  return { identity, fingerprint: fingerprint(options.keys.publicKey), authorizedKeys, rekeyAfterRecords: DEFAULTS.channelRekeyRecords };
}

/**
 * @throws RangeError when neither a pin nor a known_hosts file is given, or a pin is not a fingerprint
 * @throws InvalidKeyError when the client keys do not fit
 */
export function resolveClientEncryption(options: ClientEncryptionOptions | undefined): ResolvedClientEncryption | null {
  if (options === undefined) return null;
  const pinned = options.serverFingerprint;
  const pins = pinned === undefined ? [] : (typeof pinned === 'string' ? [pinned] : [...pinned]).map((fp) => checkFingerprint(fp, 'encryption.serverFingerprint'));
  const knownHosts = options.knownHosts;
  if (knownHosts !== undefined && (typeof knownHosts !== 'string' || knownHosts.length === 0)) throw new RangeError('encryption.knownHosts must be a file path');
  if (pins.length === 0 && knownHosts === undefined) {
    throw new RangeError('encryption needs serverFingerprint or knownHosts: without either, any server could stand in for yours');
  }
  const identity = options.keys === undefined ? null : identityOf(options.keys, 'encryption.keys');
  const trust = (host: string, presented: string): void => {
    // With both, both must hold: the key is one of the pins, and known_hosts holds it (or learns it now).
    if (pins.length > 0 && !pins.includes(presented)) throw new ServerKeyMismatchError(presented, pins);
    if (knownHosts !== undefined) checkKnownHost(knownHosts, host, presented);
  };
  return { identity, trust, rekeyAfterRecords: DEFAULTS.channelRekeyRecords };
}

function identityOf(keys: ServerEncryptionOptions['keys'] | undefined, where: string): ChannelIdentity {
  if (typeof keys !== 'object' || keys === null || typeof keys.privateKey !== 'string' || typeof keys.publicKey !== 'string') {
    throw new InvalidKeyError(`${where} must hold privateKey and publicKey as PEM`);
  }
  let identity: ChannelIdentity;
  try {
    identity = channelIdentity(keys.privateKey);
  } catch (cause) {
    throw new InvalidKeyError(`${where}: ${cause instanceof Error ? cause.message : 'not an RSA private key'}`, { cause });
  }
  if (fingerprint(keys.publicKey) !== fingerprint(keys.privateKey)) throw new InvalidKeyError(`${where}: the public key is not the pair of the private key`);
  return identity;
}
