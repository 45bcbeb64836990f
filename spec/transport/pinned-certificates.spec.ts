import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { selfSignedCertificate } from '../../lib/crypto/certificate.js';
import { PinnedCertificates } from '../../lib/transport/pinned-certificates.js';
import { fixtureKeys } from '../helpers/keys.js';

describe('PinnedCertificates', () => {
  const alice = fixtureKeys('alice');
  const bob = fixtureKeys('bob');
  const certificate = (keys: typeof alice): X509Certificate => new X509Certificate(selfSignedCertificate(keys));
  const [a1, a2, b1, c1] = [certificate(alice), certificate(alice), certificate(bob), certificate(bob)];

  it('remembers one certificate per pin, as PEM and DER, and replaces it', () => {
    const known = new PinnedCertificates(4);
    known.remember('a', a1);
    const entry = known.remember('a', a2);
    expect(known.get('a')).to.equal(entry);
    expect(entry.der.equals(a2.raw)).to.equal(true);
    expect(new X509Certificate(entry.pem).fingerprint256).to.equal(a2.fingerprint256);
    expect(known.size).to.equal(1);
  });

  it('drops the oldest entry past its limit; remembering again makes an entry the newest', () => {
    const known = new PinnedCertificates(2);
    known.remember('a', a1);
    known.remember('b', b1);
    known.remember('a', a2);
    known.remember('c', c1);
    expect(known.get('b')).to.equal(undefined);
    expect(known.get('a')?.der.equals(a2.raw)).to.equal(true);
    expect(known.get('c')?.der.equals(c1.raw)).to.equal(true);
    expect(known.size).to.equal(2);
  });

  it('forgets a pin, or only the given entry when it is still the one remembered', () => {
    const known = new PinnedCertificates(2);
    const old = known.remember('a', a1);
    known.remember('a', a2);
    known.forget('a', old);
    expect(known.get('a')?.der.equals(a2.raw)).to.equal(true);
    known.forget('a');
    expect(known.get('a')).to.equal(undefined);
  });

  it('makes its TLS context once', () => {
    const entry = new PinnedCertificates(1).remember('a', a1);
    expect(entry.context()).to.equal(entry.context());
  });
});
