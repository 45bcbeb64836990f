/**
 * `pnetwork keygen`: makes an RSA key pair (and, with --cert, a self-signed certificate), writes them
 * to a directory and prints the fingerprint clients pin.
 * @module
 */
import { selfSignedCertificate } from '../../crypto/certificate.js';
import { createEncryptKeys, KEY_FILES, saveKeys } from '../../crypto/keys.js';
import { DEFAULTS } from '../../defaults.js';
import { UsageError, type BinIo, type ParsedArgs, type Subcommand } from '../args.js';

/** Where keygen writes when `--out` is not given. */
export const DEFAULT_KEYS_DIR = 'pnetwork-keys';

/** The `keygen` subcommand. */
export const keygen: Subcommand = {
  summary: 'make an RSA key pair for TLS and sealed packets, and print its fingerprint',
  options: {
    bits: { type: 'string', valueName: '<bits>', description: `RSA modulus size, 2048 to 16384 (default ${DEFAULTS.encryptKeyBits})` },
    out: { type: 'string', short: 'o', valueName: '<dir>', description: `directory to write into (default ./${DEFAULT_KEYS_DIR})` },
    cert: { type: 'boolean', description: `also write a self-signed certificate (${KEY_FILES.certificate})` },
    force: { type: 'boolean', description: 'replace key files that already exist' },
  },
  async run({ values }: ParsedArgs, io: BinIo): Promise<number> {
    const bits = typeof values.bits === 'string' ? parseBits(values.bits) : DEFAULTS.encryptKeyBits;
    const dir = typeof values.out === 'string' ? values.out : DEFAULT_KEYS_DIR;
    const keys = await createEncryptKeys({ bits });
    const certificate = values.cert === true ? selfSignedCertificate(keys) : undefined;
    await saveKeys(dir, certificate === undefined ? keys : { ...keys, certificate }, { overwrite: values.force === true });
    io.stdout.write(`wrote ${dir}/${KEY_FILES.privateKey} (mode 0600, keep it secret) and ${dir}/${KEY_FILES.publicKey}`);
    io.stdout.write(certificate === undefined ? '\n' : ` and ${dir}/${KEY_FILES.certificate}\n`);
    io.stdout.write(`fingerprint ${keys.fingerprint}\n`);
    return 0;
  },
};

/** A key size from the command line: an integer from 2048 to 16384 (smaller keys are for tests only). */
function parseBits(text: string): number {
  const bits = Number(text);
  if (!/^\d+$/.test(text) || bits < 2048 || bits > 16384) throw new UsageError(`--bits must be an integer from 2048 to 16384, not "${text}"`, 'keygen');
  return bits;
}
