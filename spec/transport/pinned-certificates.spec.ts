import { expect } from 'chai';
import { PinnedCertificates } from '../../lib/transport/pinned-certificates.js';

describe('PinnedCertificates', () => {
  it('remembers one certificate per pin and replaces it', () => {
    const known = new PinnedCertificates(4);
    known.remember('a', 'cert-a1');
    known.remember('a', 'cert-a2');
    expect(known.get('a')).to.equal('cert-a2');
    expect(known.size).to.equal(1);
  });

  it('drops the oldest entry past its limit; remembering again makes an entry the newest', () => {
    const known = new PinnedCertificates(2);
    known.remember('a', 'A');
    known.remember('b', 'B');
    known.remember('a', 'A2');
    known.remember('c', 'C');
    expect(known.get('b')).to.equal(undefined);
    expect(known.get('a')).to.equal('A2');
    expect(known.get('c')).to.equal('C');
    expect(known.size).to.equal(2);
  });

  it('forgets a pin', () => {
    const known = new PinnedCertificates(2);
    known.remember('a', 'A');
    known.forget('a');
    expect(known.get('a')).to.equal(undefined);
  });
});
