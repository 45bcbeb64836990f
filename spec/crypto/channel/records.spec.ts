import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ChannelProtocolError, DecryptionError } from '../../../lib/errors.js';
import { CONTENT_DATA, CONTENT_KEY_UPDATE, MAX_RECORD_CONTENT_BYTES, MAX_RECORDS_PER_KEY } from '../../../lib/crypto/channel/constants.js';
import { RecordOpener, RecordSealer, SEAL_CONTENT_BYTES, recordNonce } from '../../../lib/crypto/channel/records.js';

const SECRET = Buffer.alloc(32, 7);
const OTHER_SECRET = Buffer.alloc(32, 8);

/** The record bodies (after each 4-byte length header) in a run of sealed records. */
function bodies(records: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < records.length; ) {
    const length = records.readUInt32BE(at);
    out.push(records.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

function expectDecryptionError(fn: () => unknown): void {
  expect(fn).to.throw(DecryptionError).with.property('code', 'ERR_DECRYPTION');
}

describe('crypto/channel/records', () => {
  describe('recordNonce', () => {
    it('XORs the 64-bit big-endian counter into the last 8 bytes of the IV', () => {
      const iv = Buffer.from('000102030405060708090a0b', 'hex');
      expect(recordNonce(iv, 0).toString('hex')).to.equal('000102030405060708090a0b');
      expect(recordNonce(iv, 1).toString('hex')).to.equal('000102030405060708090a0a');
      expect(recordNonce(iv, 0x1_0000_0001).toString('hex')).to.equal('000102030405060608090a0a');
      expect(iv.toString('hex')).to.equal('000102030405060708090a0b');
    });
  });

  describe('RecordSealer and RecordOpener', () => {
    it('round-trips data records, and counts them', () => {
      const sealer = new RecordSealer(SECRET, 1000);
      const opener = new RecordOpener(SECRET);
      for (const text of ['a', 'bb', '']) {
        const [body] = bodies(sealer.seal(Buffer.from(text)));
        expect(opener.open(body!)).to.deep.equal({ type: CONTENT_DATA, content: Buffer.from(text) });
      }
      expect(sealer.records).to.equal(3);
      expect(opener.records).to.equal(3);
    });

    it('seals a batch as records of at most 16 KiB of content, back to back, and an empty one as one record', () => {
      const sealer = new RecordSealer(SECRET, 1000);
      const opener = new RecordOpener(SECRET);
      const big = randomBytes(SEAL_CONTENT_BYTES * 4 + 5);
      const parts = bodies(sealer.seal(big)).map((body) => opener.open(body).content);
      expect(parts.map((part) => part.length)).to.deep.equal([...Array.from({ length: 4 }, () => SEAL_CONTENT_BYTES), 5]);
      expect(Buffer.concat(parts)).to.deep.equal(big);
      const empty = bodies(sealer.seal(new Uint8Array(0)));
      expect(empty).to.have.length(1);
      expect(opener.open(empty[0]!).content).to.have.length(0);
    });

    it('opens a record of the largest size a receiver accepts (64 KiB of content), as another sender may seal', () => {
      const sealer = new RecordSealer(SECRET, 1000);
      const opener = new RecordOpener(SECRET);
      const content = randomBytes(MAX_RECORD_CONTENT_BYTES);
      const [body] = bodies(sealer.sealRecord(CONTENT_DATA, content));
      expect(opener.open(body!).content).to.deep.equal(content);
    });

    it('puts each key update where it falls inside a batch of several records', () => {
      const sealer = new RecordSealer(SECRET, 3);
      const opener = new RecordOpener(SECRET);
      const batch = randomBytes(SEAL_CONTENT_BYTES * 7 + 1);
      const opened = bodies(sealer.seal(batch)).map((body) => opener.open(body));
      expect(opened.map((record) => record.type)).to.deep.equal([1, 1, 1, 2, 1, 1, 1, 2, 1, 1].map((n) => (n === 1 ? CONTENT_DATA : CONTENT_KEY_UPDATE)));
      expect(Buffer.concat(opened.filter((record) => record.type === CONTENT_DATA).map((record) => record.content))).to.deep.equal(batch);
    });

    it('sends a key update after rekeyAfterRecords records, and the opener follows it', () => {
      const sealer = new RecordSealer(SECRET, 3);
      const opener = new RecordOpener(SECRET);
      const types: number[] = [];
      const contents: string[] = [];
      for (let i = 0; i < 10; i++) {
        for (const body of bodies(sealer.seal(Buffer.from(`m${i}`)))) {
          const { type, content } = opener.open(body);
          types.push(type);
          if (type === CONTENT_DATA) contents.push(content.toString());
        }
      }
      expect(contents).to.deep.equal(Array.from({ length: 10 }, (_, i) => `m${i}`));
      expect(types.filter((type) => type === CONTENT_KEY_UPDATE)).to.have.length(3);
      // After an update the old key no longer opens anything.
      const late = bodies(sealer.seal(Buffer.from('late')))[0]!;
      expectDecryptionError(() => new RecordOpener(SECRET).open(late));
    });

    it('refuses a rekey interval it could not honour', () => {
      for (const bad of [0, 1.5, MAX_RECORDS_PER_KEY, Number.NaN]) {
        expect(() => new RecordSealer(SECRET, bad)).to.throw(RangeError);
      }
    });

    it('refuses a record with any bit of its body or tag flipped, and returns nothing of it', () => {
      const body = bodies(new RecordSealer(SECRET, 1000).seal(Buffer.from('secret payload')))[0]!;
      for (let byte = 0; byte < body.length; byte++) {
        for (const bit of [0x01, 0x80]) {
          const flipped = Buffer.from(body);
          flipped[byte]! ^= bit;
          expectDecryptionError(() => new RecordOpener(SECRET).open(flipped));
        }
      }
    });

    it('refuses a record whose length header was changed (the header is associated data)', () => {
      const body = bodies(new RecordSealer(SECRET, 1000).seal(Buffer.from('secret payload')))[0]!;
      expectDecryptionError(() => new RecordOpener(SECRET).open(body.subarray(0, body.length - 1)));
      expectDecryptionError(() => new RecordOpener(SECRET).open(Buffer.concat([body, Buffer.of(0)])));
      expectDecryptionError(() => new RecordOpener(SECRET).open(body.subarray(0, 16)));
    });

    it('refuses a replayed record', () => {
      const [first] = bodies(new RecordSealer(SECRET, 1000).seal(Buffer.from('pay me once')));
      const opener = new RecordOpener(SECRET);
      opener.open(first!);
      expectDecryptionError(() => opener.open(first!));
    });

    it('refuses reordered records', () => {
      const sealer = new RecordSealer(SECRET, 1000);
      const first = bodies(sealer.seal(Buffer.from('one')))[0]!;
      const second = bodies(sealer.seal(Buffer.from('two')))[0]!;
      expectDecryptionError(() => new RecordOpener(SECRET).open(second));
      const opener = new RecordOpener(SECRET);
      opener.open(first);
      opener.open(second);
    });

    it('refuses a record sealed under another key (a reflected record, or another session)', () => {
      const body = bodies(new RecordSealer(OTHER_SECRET, 1000).seal(Buffer.from('mine')))[0]!;
      expectDecryptionError(() => new RecordOpener(SECRET).open(body));
    });

    it('refuses a key update that carries content', () => {
      const sealer = new RecordSealer(SECRET, 1000);
      const body = bodies(sealer.sealRecord(CONTENT_KEY_UPDATE, Buffer.from('x')))[0]!;
      expect(() => new RecordOpener(SECRET).open(body)).to.throw(ChannelProtocolError);
    });

    it('never repeats a key and nonce over 20,000 records: the same plaintext never seals the same way twice', () => {
      const sealer = new RecordSealer(SECRET, 4096);
      const opener = new RecordOpener(SECRET);
      const seen = new Set<string>();
      const plaintext = Buffer.from('same every time');
      let data = 0;
      for (let i = 0; i < 20_000; i++) {
        for (const body of bodies(sealer.seal(plaintext))) {
          seen.add(body.toString('hex'));
          if (opener.open(body).type === CONTENT_DATA) data++;
        }
      }
      expect(data).to.equal(20_000);
      expect(seen.size).to.equal(sealer.records);
      expect(sealer.records).to.be.greaterThan(20_000);
    });
  });
});
