/**
 * RSA key pairs: generate (node-forge), save and load as PEM files, and fingerprint.
 *
 * forge only ever handles keys made or loaded here, never anything a peer sends: parsing and checking
 * keys is node:crypto's job (forge has had ASN.1 parser flaws; see docs/security.md).
 * @module
 */
import { createHash, randomBytes, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { DEFAULTS } from '../defaults.js';
import { InvalidKeyError, KeyFileExistsError, KeyFilePermissionsError } from '../errors.js';

/** An RSA key pair as PEM text, with the public key's fingerprint. */
export interface EncryptKeys {
  /** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). Safe to share. */
  readonly publicKey: string;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). A secret: never log it or send it. */
  readonly privateKey: string;
  /** {@link fingerprint} of `publicKey`: base64 SHA-256 of its SPKI DER. */
  readonly fingerprint: string;
  /** A PEM certificate for `publicKey`, when one was made or loaded (TLS uses it). */
  readonly certificate?: string;
}

/** Options for {@link createEncryptKeys}. */
export interface CreateEncryptKeysOptions {
  /** Modulus size in bits, 1024–16384 (below 2048 only for tests). @defaultValue 3072 */
  bits?: number;
}

/** Options for {@link saveKeys}. */
export interface SaveKeysOptions {
  /** Replace key files that already exist. @defaultValue false */
  overwrite?: boolean;
}

/** Options for {@link loadKeys}. */
export interface LoadKeysOptions {
  /** Load a private key file that others can read or write (not recommended). @defaultValue false */
  force?: boolean;
}

/** File names inside a keys directory. */
export const KEY_FILES = Object.freeze({
  privateKey: 'private-key.pem',
  publicKey: 'public-key.pem',
  certificate: 'certificate.pem',
});

const MIN_BITS = 1024;
const MAX_BITS = 16384;

/**
 * Generates an RSA key pair with node-forge's asynchronous generator, which hands the work to Node's
 * native key generation off the event loop.
 * @param options `bits` (default 3072)
 * @returns the pair as PEM (PKCS#8 private, SPKI public) and the public key's fingerprint
 * @throws RangeError when `bits` is not an integer in 1024–16384
 * @example
 * const keys = await createEncryptKeys();
 * console.log(keys.fingerprint);
 */
export async function createEncryptKeys(options: CreateEncryptKeysOptions = {}): Promise<EncryptKeys> {
  const bits = options.bits ?? DEFAULTS.encryptKeyBits;
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new RangeError(`bits must be an integer from ${MIN_BITS} to ${MAX_BITS}; got ${String(bits)}`);
  }
  const pair = await new Promise<forge.pki.rsa.KeyPair>((resolve, reject) => {
    // An exponent of 65537 and no custom prng keep forge on Node's native, off-thread generator.
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 }, (err, keys) => (err ? reject(err) : resolve(keys)));
  });
  const privateKey = forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(pair.privateKey)));
  const publicKey = forge.pki.publicKeyToPem(pair.publicKey);
  return { publicKey, privateKey, fingerprint: fingerprint(publicKey) };
}

/**
 * The fingerprint of a public key: base64 of SHA-256 over its SubjectPublicKeyInfo DER, the form Node's
 * `checkServerIdentity` docs and curl's `--pinnedpubkey sha256//…` use. Computed by node:crypto.
 * @param key a public key (SPKI PEM), a private key (its public half is used), a PEM certificate, or a KeyObject
 * @throws InvalidKeyError when the input is not a key or certificate
 */
export function fingerprint(key: string | Buffer | KeyObject): string {
  const spki = publicKeyObject(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Writes `keys` into `dir` (created with mode 0700 if missing): the private key with mode 0600, the
 * public key and any certificate with 0644. Refuses to overwrite existing files unless asked.
 * @throws KeyFileExistsError when a file exists and `overwrite` is not set
 */
export async function saveKeys(dir: string, keys: EncryptKeys, options: SaveKeysOptions = {}): Promise<void> {
  checkPair(keys.privateKey, keys.publicKey);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const flag = options.overwrite ? 'w' : 'wx';
  await writeKeyFile(join(dir, KEY_FILES.privateKey), keys.privateKey, 0o600, flag);
  await writeKeyFile(join(dir, KEY_FILES.publicKey), keys.publicKey, 0o644, flag);
  if (keys.certificate !== undefined) await writeKeyFile(join(dir, KEY_FILES.certificate), keys.certificate, 0o644, flag);
}

/**
 * Reads a key pair (and a certificate, if present) that {@link saveKeys} or `pnetwork keygen` wrote.
 * The private key file must not be readable or writable by group or others (on POSIX systems) unless
 * `force` is set. The public key file may be missing; it is then derived from the private key.
 * @throws KeyFilePermissionsError when the private key file is open to others and `force` is not set
 * @throws InvalidKeyError when a file is missing or unparsable, or the halves do not match
 */
export async function loadKeys(dir: string, options: LoadKeysOptions = {}): Promise<EncryptKeys> {
  const privatePath = join(dir, KEY_FILES.privateKey);
  const info = await stat(privatePath).catch((cause: unknown) => {
    throw new InvalidKeyError(`no private key at ${privatePath}`, { cause });
  });
  const mode = info.mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0 && options.force !== true) {
    throw new KeyFilePermissionsError(privatePath, mode);
  }
  const privateKey = await readFile(privatePath, 'utf8');
  const privateObject = privateKeyObject(privateKey);
  const derivedPublic = createPublicKey(privateObject).export({ type: 'spki', format: 'pem' }).toString();
  const storedPublic = await readOptional(join(dir, KEY_FILES.publicKey));
  const publicKey = storedPublic ?? derivedPublic;
  checkPair(privateKey, publicKey);
  const certificate = await readOptional(join(dir, KEY_FILES.certificate));
  if (certificate !== undefined && fingerprint(certificate) !== fingerprint(publicKey)) {
    throw new InvalidKeyError(`${join(dir, KEY_FILES.certificate)} is not a certificate for this key pair`);
  }
  const keys = { publicKey, privateKey, fingerprint: fingerprint(publicKey) };
  return certificate === undefined ? keys : { ...keys, certificate };
}

/** The public key object for any accepted input; errors never quote the input (it may be a private key). */
function publicKeyObject(key: string | Buffer | KeyObject): KeyObject {
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) {
    return key.type === 'public' ? key : createPublicKey(key);
  }
  const text = typeof key === 'string' ? key : key.toString('latin1');
  try {
    if (text.includes('-----BEGIN CERTIFICATE-----')) return new X509Certificate(key).publicKey;
    return createPublicKey(key);
  } catch (cause) {
    throw new InvalidKeyError('not a public key, private key or certificate', { cause });
  }
}

function privateKeyObject(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (cause) {
    throw new InvalidKeyError('the private key cannot be parsed', { cause });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new InvalidKeyError(`the private key is ${key.asymmetricKeyType ?? 'of unknown type'}, not RSA`);
  return key;
}

/** Throws unless `publicKey` is the public half of `privateKey`. */
function checkPair(privateKey: string, publicKey: string): void {
  const derived = createPublicKey(privateKeyObject(privateKey));
  if (fingerprint(derived) !== fingerprint(publicKey)) throw new InvalidKeyError('the public key is not the pair of the private key');
}

async function writeKeyFile(path: string, text: string, mode: number, flag: 'w' | 'wx'): Promise<void> {
  // Overwriting goes through a fresh file renamed into place, so an old file's looser mode never
  // applies to the new content, not even for a moment.
  const target = flag === 'w' ? `${path}.${randomBytes(6).toString('hex')}.tmp` : path;
  try {
    await writeFile(target, text, { mode, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileExistsError(path);
    throw err;
  }
  // The umask may have narrowed the mode; set exactly what was asked.
  await chmod(target, mode);
  if (target !== path) await rename(target, path);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
