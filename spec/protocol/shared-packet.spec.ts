import { expect } from 'chai';
import fc from 'fast-check';
import { FrameTooLargeError, PacketError } from '../../lib/errors.js';
import { JSON_CODEC, jsonCodec, type Codec, type TextCodec } from '../../lib/protocol/codec.js';
import { SharedPacket, tokenTail } from '../../lib/protocol/shared-packet.js';

/** One recipient's copy as the bytes that would travel. */
function copyFor(shared: SharedPacket, token: string): string {
  if (shared.head === null) return Buffer.from(shared.encodeFor(token)).toString('utf8');
  return Buffer.concat([shared.head, tokenTail(token)]).toString('utf8');
}

describe('protocol/SharedPacket', () => {
  it("splices each recipient's token into bytes identical to the JSON codec's own encoding (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue(), fc.integer({ min: 0 }), fc.uuid(), (action, data, createdAt, token) => {
        const shared = new SharedPacket(JSON_CODEC, action, data, createdAt, 1 << 20);
        expect(shared.head).not.to.equal(null);
        expect(copyFor(shared, token)).to.equal(JSON_CODEC.encodeText({ action, data, 'packet-created': createdAt, token }));
      }),
      { numRuns: 300 },
    );
  });

  it('sends undefined data as null, as sendPacket does', () => {
    const shared = new SharedPacket(JSON_CODEC, 'a', undefined, 5, 1024);
    expect(JSON.parse(copyFor(shared, 't'))).to.deep.equal({ action: 'a', data: null, 'packet-created': 5, token: 't' });
  });

  it('encodes every copy in full for a codec that is not the JSON codec itself, even a spread copy of it', () => {
    const upper: Codec = { ...jsonCodec(), name: 'upper', encode: (packet) => Buffer.from(JSON.stringify(packet).toUpperCase()) };
    const textless = { name: upper.name, encode: upper.encode, decode: upper.decode };
    const shared = new SharedPacket(textless, 'a', 'x', 1, 1024);
    expect(shared.head).to.equal(null);
    expect(copyFor(shared, 'tok')).to.equal('{"ACTION":"A","DATA":"X","PACKET-CREATED":1,"TOKEN":"TOK"}');
    const replaced: TextCodec = { ...jsonCodec(), encodeText: () => 'mine' };
    const spread = new SharedPacket(replaced, 'a', 'x', 1, 1024);
    expect(spread.head, 'a spread copy may have replaced encodeText').to.equal(null);
    expect(copyFor(spread, 'tok')).to.equal('mine');
    const inheriting = Object.assign(Object.create(jsonCodec()) as TextCodec, { encodeText: () => 'inherited' });
    const derived = new SharedPacket(inheriting, 'a', 'x', 1, 1024);
    expect(derived.head, 'a codec inheriting from the JSON codec with its own encodeText').to.equal(null);
    expect(copyFor(derived, 'tok')).to.equal('inherited');
    expect(new SharedPacket(Object.create(jsonCodec()) as TextCodec, 'a', 'x', 1, 1024).head, 'one that inherits encodeText too').not.to.equal(null);
  });

  it('refuses data that is not JSON with ERR_PACKET_JSON, and a copy larger than maxFrameBytes, before any copy', () => {
    expect(() => new SharedPacket(JSON_CODEC, 'a', { n: 1n }, 1, 1024)).to.throw(PacketError).with.property('code', 'ERR_PACKET_JSON');
    const exact = JSON_CODEC.encodeText({ action: 'a', data: 'x'.repeat(10), 'packet-created': 1, token: '00000000-0000-4000-8000-000000000000' });
    const limit = Buffer.byteLength(exact);
    expect(() => new SharedPacket(JSON_CODEC, 'a', 'x'.repeat(10), 1, limit)).not.to.throw();
    expect(() => new SharedPacket(JSON_CODEC, 'a', 'x'.repeat(11), 1, limit)).to.throw(FrameTooLargeError);
    const failing: Codec = { name: 'failing', encode: () => { throw new Error('no'); }, decode: JSON_CODEC.decode };
    expect(() => new SharedPacket(failing, 'a', 1, 1, 1024)).to.throw(PacketError).with.property('code', 'ERR_PACKET_JSON');
  });
});
