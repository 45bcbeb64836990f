import { expect } from 'chai';
import { createPublicKey, createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from '../../lib/crypto/certificate.js';
import { createEncryptKeys, fingerprint, KEY_FILES, loadKeys, saveKeys, type EncryptKeys } from '../../lib/crypto/keys.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { InvalidKeyError, KeyFileExistsError, KeyFilePermissionsError } from '../../lib/errors.js';
import { fixtureKeys } from '../helpers/keys.js';

const modulusLength = (pem: string): number | undefined => createPublicKey(pem).asymmetricKeyDetails?.modulusLength;

describe('crypto/keys', () => {
  const alice = fixtureKeys('alice');
  const bob = fixtureKeys('bob');

  describe('createEncryptKeys', () => {
    it(`makes a ${DEFAULTS.encryptKeyBits}-bit pair by default, as PKCS#8 and SPKI PEM with its fingerprint`, async () => {
      const keys = await createEncryptKeys();
      expect(keys.privateKey).to.match(/^-----BEGIN PRIVATE KEY-----\r?\n/);
      expect(keys.publicKey).to.match(/^-----BEGIN PUBLIC KEY-----\r?\n/);
      expect(modulusLength(keys.publicKey)).to.equal(3072);
      expect(createPrivateKey(keys.privateKey).asymmetricKeyType).to.equal('rsa');
      expect(keys.fingerprint).to.equal(fingerprint(keys.publicKey));
      expect(fingerprint(keys.privateKey)).to.equal(keys.fingerprint);
    });

    it('honours bits and makes a different pair each time', async () => {
      const [a, b] = await Promise.all([createEncryptKeys({ bits: 1024 }), createEncryptKeys({ bits: 1024 })]);
      expect(modulusLength(a.publicKey)).to.equal(1024);
      expect(a.fingerprint).to.not.equal(b.fingerprint);
    });

    for (const bits of [0, 512, 1023, 16385, 2048.5, Number.NaN]) {
      it(`refuses bits = ${bits} with a RangeError`, async () => {
        const failure = await createEncryptKeys({ bits }).then(() => null, (err: unknown) => err);
        expect(failure).to.be.instanceOf(RangeError);
      });
    }
  });

  describe('fingerprint', () => {
    it('is base64 SHA-256 of the SPKI DER, as openssl computes it', () => {
      expect(alice.fingerprint).to.equal(alice.opensslFingerprint);
      expect(bob.fingerprint).to.equal(bob.opensslFingerprint);
      expect(alice.fingerprint).to.not.equal(bob.fingerprint);
    });

    it('gives the same answer for the private key, a KeyObject and DER', () => {
      expect(fingerprint(alice.privateKey)).to.equal(alice.opensslFingerprint);
      expect(fingerprint(createPublicKey(alice.publicKey))).to.equal(alice.opensslFingerprint);
      expect(fingerprint(createPrivateKey(alice.privateKey))).to.equal(alice.opensslFingerprint);
      const der = createPublicKey(alice.publicKey).export({ type: 'spki', format: 'der' });
      expect(fingerprint(createPublicKey({ key: der, format: 'der', type: 'spki' }))).to.equal(alice.opensslFingerprint);
    });

    it('refuses what is not a key with InvalidKeyError', () => {
      expect(() => fingerprint('hello')).to.throw(InvalidKeyError).with.property('code', 'ERR_KEY_INVALID');
      expect(() => fingerprint('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).to.throw(InvalidKeyError);
    });
  });

  describe('saveKeys / loadKeys', () => {
    let dir: string;
    beforeEach(async () => {
      dir = join(await mkdtemp(join(tmpdir(), 'pnetwork-keys-')), 'keys');
    });
    afterEach(async () => {
      await rm(join(dir, '..'), { recursive: true, force: true });
    });

    it('round-trips a pair, with the private key file at mode 0600 in a 0700 directory', async () => {
      await saveKeys(dir, alice);
      expect((await stat(join(dir, KEY_FILES.privateKey))).mode & 0o777).to.equal(0o600);
      expect((await stat(join(dir, KEY_FILES.publicKey))).mode & 0o777).to.equal(0o644);
      expect((await stat(dir)).mode & 0o777).to.equal(0o700);
      const loaded = await loadKeys(dir);
      expect(loaded).to.deep.equal({ publicKey: alice.publicKey, privateKey: alice.privateKey, fingerprint: alice.opensslFingerprint });
    });

    it('keeps the private key at 0600 even when overwriting a file others could read', async () => {
      await saveKeys(dir, bob);
      await chmod(join(dir, KEY_FILES.privateKey), 0o644);
      await saveKeys(dir, alice, { overwrite: true });
      expect((await stat(join(dir, KEY_FILES.privateKey))).mode & 0o777).to.equal(0o600);
      expect((await loadKeys(dir)).fingerprint).to.equal(alice.opensslFingerprint);
    });

    it('refuses to overwrite existing key files unless asked', async () => {
      await saveKeys(dir, alice);
      const failure = await saveKeys(dir, bob).then(() => null, (err: unknown) => err);
      expect(failure).to.be.instanceOf(KeyFileExistsError).with.property('code', 'ERR_KEY_FILE_EXISTS');
      expect((await loadKeys(dir)).fingerprint).to.equal(alice.opensslFingerprint);
    });

    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
      it(`refuses a private key file with mode ${mode.toString(8)} unless forced`, async () => {
        await saveKeys(dir, alice);
        await chmod(join(dir, KEY_FILES.privateKey), mode);
        const failure = await loadKeys(dir).then(() => null, (err: unknown) => err);
        expect(failure).to.be.instanceOf(KeyFilePermissionsError).with.property('code', 'ERR_KEY_FILE_PERMISSIONS');
        expect((failure as KeyFilePermissionsError).mode).to.equal(mode);
        expect((failure as Error).message).to.not.include('PRIVATE');
        expect((await loadKeys(dir, { force: true })).fingerprint).to.equal(alice.opensslFingerprint);
      });
    }

    it('loads a certificate kept with the keys, and refuses one for another key', async () => {
      await saveKeys(dir, { ...alice, certificate: selfSignedCertificate(alice) });
      const loaded = await loadKeys(dir);
      expect(fingerprint(new X509Certificate(loaded.certificate ?? '').publicKey)).to.equal(alice.opensslFingerprint);
      await writeFile(join(dir, KEY_FILES.certificate), selfSignedCertificate(bob));
      expect(await loadKeys(dir).then(() => null, (err: unknown) => err)).to.be.instanceOf(InvalidKeyError);
    });

    it('derives the public key when its file is missing', async () => {
      await saveKeys(dir, alice);
      await unlink(join(dir, KEY_FILES.publicKey));
      const loaded = await loadKeys(dir);
      expect(loaded.fingerprint).to.equal(alice.opensslFingerprint);
      expect(fingerprint(loaded.publicKey)).to.equal(alice.opensslFingerprint);
    });

    it('refuses halves of different pairs, on save and on load', async () => {
      const mixed: EncryptKeys = { ...alice, publicKey: bob.publicKey };
      expect(await saveKeys(dir, mixed).then(() => null, (err: unknown) => err)).to.be.instanceOf(InvalidKeyError);
      await saveKeys(dir, alice);
      await writeFile(join(dir, KEY_FILES.publicKey), bob.publicKey);
      const failure = await loadKeys(dir).then(() => null, (err: unknown) => err);
      expect(failure).to.be.instanceOf(InvalidKeyError).with.property('code', 'ERR_KEY_INVALID');
    });

    it('refuses a missing or unparsable private key with InvalidKeyError that quotes no key material', async () => {
      expect(await loadKeys(dir).then(() => null, (err: unknown) => err)).to.be.instanceOf(InvalidKeyError);
      await saveKeys(dir, alice);
      const pem = await readFile(join(dir, KEY_FILES.privateKey), 'utf8');
      const broken = pem.replace(/[A-Za-z]{20}/, 'x'.repeat(20));
      await writeFile(join(dir, KEY_FILES.privateKey), broken, { mode: 0o600 });
      const failure = await loadKeys(dir).then(() => null, (err: unknown) => err);
      expect(failure).to.be.instanceOf(InvalidKeyError);
      expect((failure as Error).message).to.not.include(broken.split('\n')[2] ?? 'unreachable');
    });
  });
});
