import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CipherBackendName } from '../../lib/crypto/cipher-backend.js';
import { cipherBackend, decryptPacket, encryptPacket, PacketSealer, type SealedPacket } from '../../lib/crypto/sealed-packet.js';
import { DecryptionError, InvalidKeyError, PacketError } from '../../lib/errors.js';
import { encodePacket } from '../../lib/protocol/packet-text.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { fixtureKeys } from '../helpers/keys.js';

interface Vector {
  recipient: 'alice' | 'bob';
  contentKey: string;
  iv: string;
  oaepSeed: string;
  aad: string;
  packet: Packet;
  sealed: SealedPacket;
}

// Made by spec/fixtures/sealed/make-vectors.py, an independent implementation written from docs/protocol.md.
const VECTORS = JSON.parse(readFileSync(new URL('../fixtures/sealed/vectors.json', import.meta.url), 'utf8')) as Vector[];
const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const BACKENDS: CipherBackendName[] = ['node', 'forge'];

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return null;
}

describe('crypto/sealed-packet', () => {
  const alice = fixtureKeys('alice');
  const bob = fixtureKeys('bob');
  const keys = { alice, bob };
  const chat: Packet = { action: 'chat', data: { text: 'meet at noon', n: [1, 2] }, 'packet-created': 1_764_547_200_000, token: null };
  const request: Packet = { action: 'transfer', data: { amount: 12 }, 'packet-created': 1_764_547_200_001, token: 'tok-123', id: 7 };

  describe('known answers', () => {
    for (const [index, vector] of VECTORS.entries()) {
      it(`forge with the fixed key, IV and OAEP seed writes vector ${index} byte for byte`, () => {
        const sealer = new PacketSealer(keys[vector.recipient].publicKey, cipherBackend('forge'));
        const sealed = sealer.seal(vector.packet, { contentKey: hex(vector.contentKey), iv: hex(vector.iv), oaepSeed: hex(vector.oaepSeed) });
        expect(encodePacket(sealed)).to.equal(encodePacket(vector.sealed));
      });

      for (const backend of BACKENDS) {
        it(`${backend} opens vector ${index} to the original packet`, () => {
          expect(decryptPacket(vector.sealed, keys[vector.recipient].privateKey, { backend })).to.deep.equal(vector.packet);
        });

        it(`${backend}'s AES-256-GCM gives vector ${index}'s ciphertext and tag for its key, IV and associated data`, () => {
          const inner = Buffer.from(JSON.stringify({ action: vector.packet.action, data: vector.packet.data }), 'utf8');
          const out = cipherBackend(backend).seal(hex(vector.contentKey), hex(vector.iv), inner, hex(vector.aad));
          expect(out.ciphertext.toString('base64')).to.equal(vector.sealed.data.ct);
          expect(out.tag.toString('base64')).to.equal(vector.sealed.data.tag);
        });
      }
    }
  });

  describe('#encryptPacket / #decryptPacket', () => {
    for (const sealWith of BACKENDS) {
      for (const openWith of BACKENDS) {
        it(`a packet sealed by ${sealWith} opens with ${openWith}`, () => {
          for (const packet of [chat, request]) {
            const sealed = encryptPacket(packet, alice.publicKey, { backend: sealWith });
            expect(decryptPacket(sealed, alice.privateKey, { backend: openWith })).to.deep.equal(packet);
          }
        });
      }
    }

    it('hides action and data, keeps the envelope readable, and names the recipient key', () => {
      const sealed = encryptPacket(request, alice.publicKey);
      const text = encodePacket(sealed);
      expect(text).to.not.include('transfer');
      expect(text).to.not.include('amount');
      expect(sealed).to.include({ action: 'sealed', 'packet-created': request['packet-created'], token: 'tok-123', id: 7 });
      expect(sealed.data.kid).to.equal(alice.opensslFingerprint);
      expect(Object.keys(sealed.data)).to.deep.equal(['v', 'kid', 'key', 'iv', 'ct', 'tag']);
    });

    it('uses a fresh content key and IV for every packet', () => {
      const a = encryptPacket(chat, alice.publicKey);
      const b = encryptPacket(chat, alice.publicKey);
      expect(a.data.key).to.not.equal(b.data.key);
      expect(a.data.iv).to.not.equal(b.data.iv);
      expect(a.data.ct).to.not.equal(b.data.ct);
    });

    it('opens the JSON text and the UTF-8 bytes of a sealed packet too', () => {
      const text = encodePacket(encryptPacket(chat, alice.publicKey));
      expect(decryptPacket(text, alice.privateKey)).to.deep.equal(chat);
      expect(decryptPacket(new Uint8Array(Buffer.from(text)), alice.privateKey)).to.deep.equal(chat);
    });

    it('seals with the public half when given a private key', () => {
      expect(decryptPacket(encryptPacket(chat, alice.privateKey), alice.privateKey)).to.deep.equal(chat);
    });

    it('refuses to seal a packet whose packet-created is not an integer', () => {
      const err = failure(() => encryptPacket({ ...chat, 'packet-created': 1.5 }, alice.publicKey));
      expect(err).to.be.instanceOf(PacketError).with.property('code', 'ERR_PACKET_FIELD_TYPE');
    });

    it('refuses keys that are not RSA keys with InvalidKeyError', () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      expect(failure(() => encryptPacket(chat, 'not a key'))).to.be.instanceOf(InvalidKeyError);
      expect(failure(() => encryptPacket(chat, ec.publicKey))).to.be.instanceOf(InvalidKeyError);
      const sealed = encryptPacket(chat, alice.publicKey);
      expect(failure(() => decryptPacket(sealed, alice.publicKey))).to.be.instanceOf(InvalidKeyError);
      expect(failure(() => decryptPacket(sealed, ec.privateKey))).to.be.instanceOf(InvalidKeyError);
    });

    it('refuses an unknown back end with a RangeError', () => {
      expect(failure(() => encryptPacket(chat, alice.publicKey, { backend: 'other' as CipherBackendName }))).to.be.instanceOf(RangeError);
    });

    // Failed before: bytes that are not UTF-8 opened with U+FFFD in their place, and extra keys were
    // ERR_PACKET_NOT_OBJECT where an ordinary packet's are ERR_PACKET_UNKNOWN_KEY.
    it('validates the opened content as a received packet: UTF-8 first, then only action and data', () => {
      const vector = VECTORS[0]!;
      const resealed = (inner: Buffer): SealedPacket => {
        const out = cipherBackend('node').seal(hex(vector.contentKey), hex(vector.iv), inner, hex(vector.aad));
        return { ...vector.sealed, data: { ...vector.sealed.data, ct: out.ciphertext.toString('base64'), tag: out.tag.toString('base64') } };
      };
      const open = (inner: Buffer): unknown => failure(() => decryptPacket(resealed(inner), keys[vector.recipient].privateKey));
      expect(open(Buffer.concat([Buffer.from('{"action":"a","data":"'), Buffer.from([0xff]), Buffer.from('"}')]))).to.be.instanceOf(PacketError).with.property('code', 'ERR_PACKET_UTF8');
      expect(open(Buffer.from('{"action":"a","data":1,"token":"t"}'))).to.be.instanceOf(PacketError).with.property('code', 'ERR_PACKET_UNKNOWN_KEY');
      expect(open(Buffer.from('[1]'))).to.be.instanceOf(PacketError).with.property('code', 'ERR_PACKET_NOT_OBJECT');
      expect(open(Buffer.from('{"action":"a","data":"\u00e9t\u00e9"}'))).to.equal(null);
    });

    it('validates what it opened against the limits', () => {
      const sealed = encryptPacket({ ...chat, action: 'a-long-action' }, alice.publicKey);
      const err = failure(() => decryptPacket(sealed, alice.privateKey, { limits: { maxActionLength: 4 } }));
      expect(err).to.be.instanceOf(PacketError).with.property('code', 'ERR_PACKET_ACTION_TOO_LONG');
    });
  });

  describe('refusals', () => {
    const expectDecryptionError = (input: Packet | string | Uint8Array, backend: CipherBackendName = 'node', key = alice.privateKey): void => {
      const err = failure(() => decryptPacket(input, key, { backend }));
      expect(err, typeof input === 'string' ? input : JSON.stringify(input)).to.be.instanceOf(DecryptionError).with.property('code', 'ERR_DECRYPTION');
    };

    it('refuses a change to any byte of the sealed text (node)', () => {
      const text = encodePacket(encryptPacket(request, alice.publicKey));
      const bytes = Buffer.from(text, 'utf8');
      for (let i = 0; i < bytes.length; i++) {
        for (const change of [(b: number) => b ^ 0x01, (b: number) => (b === 0x41 ? 0x42 : 0x41)]) {
          const tampered = Buffer.from(bytes);
          tampered[i] = change(tampered[i]!);
          expectDecryptionError(tampered);
        }
      }
    });

    it('refuses a change to a byte of each field (forge)', () => {
      const sealed = encryptPacket(request, alice.publicKey, { backend: 'forge' });
      const flips: SealedPacket[] = [
        { ...sealed, 'packet-created': sealed['packet-created'] + 1 },
        { ...sealed, token: 'tok-124' },
        { ...sealed, id: 8 },
      ];
      for (const field of ['key', 'iv', 'ct', 'tag'] as const) {
        const raw = Buffer.from(sealed.data[field], 'base64');
        raw[raw.length >> 1]! ^= 0x80;
        flips.push({ ...sealed, data: { ...sealed.data, [field]: raw.toString('base64') } });
      }
      for (const tampered of flips) expectDecryptionError(tampered, 'forge');
    });

    it('refuses every bit flip in the binary fields (node)', () => {
      const sealed = encryptPacket(chat, alice.publicKey);
      for (const field of ['iv', 'ct', 'tag'] as const) {
        const raw = Buffer.from(sealed.data[field], 'base64');
        for (let bit = 0; bit < raw.length * 8; bit++) {
          const flipped = Buffer.from(raw);
          flipped[bit >> 3]! ^= 1 << (bit & 7);
          expectDecryptionError({ ...sealed, data: { ...sealed.data, [field]: flipped.toString('base64') } });
        }
      }
    });

    it('refuses every truncation of the sealed text', () => {
      const text = encodePacket(encryptPacket(chat, alice.publicKey));
      for (let length = 0; length < text.length; length++) expectDecryptionError(text.slice(0, length));
    });

    it('refuses a tag cut to 4 bytes, which node:crypto would otherwise accept', () => {
      const sealed = encryptPacket(chat, alice.publicKey);
      const short = Buffer.from(sealed.data.tag, 'base64').subarray(0, 4).toString('base64');
      for (const backend of BACKENDS) expectDecryptionError({ ...sealed, data: { ...sealed.data, tag: short } }, backend);
    });

    for (const backend of BACKENDS) {
      it(`refuses a packet sealed for another key (${backend}), even with the key id rewritten`, () => {
        const sealed = encryptPacket(chat, alice.publicKey);
        expectDecryptionError(sealed, backend, bob.privateKey);
        expectDecryptionError({ ...sealed, data: { ...sealed.data, kid: bob.opensslFingerprint } }, backend, bob.privateKey);
      });
    }

    it('refuses what is not a sealed packet', () => {
      const sealed = encryptPacket(chat, alice.publicKey);
      const { tag: _tag, ...withoutTag } = sealed.data;
      for (const input of [
        chat,
        { ...sealed, action: 'chat' },
        { ...sealed, data: { ...sealed.data, v: 2 } },
        { ...sealed, data: withoutTag },
        { ...sealed, data: { ...sealed.data, extra: '' } },
        { ...sealed, data: { ...sealed.data, ct: 7 } },
        { ...sealed, data: { ...sealed.data, iv: `${sealed.data.iv}\n` } },
        { ...sealed, data: null },
        { ...sealed, extra: 1 },
        '[]',
        'null',
        '',
      ]) {
        expectDecryptionError(input as Packet);
      }
    });
  });
});
