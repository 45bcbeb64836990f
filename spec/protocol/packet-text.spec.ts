import { expect } from 'chai';
import { PacketError } from '../../lib/errors.js';
import { decodePacket, encodePacket } from '../../lib/protocol/packet-text.js';
import type { Packet } from '../../lib/protocol/packet.js';

const CHAT: Packet = { action: 'chat', data: { text: 'héllo' }, 'packet-created': 1, token: 'tok', id: 3 };

describe('protocol/packet-text', () => {
  it('encodes a packet as the readable JSON text that goes on the wire', () => {
    expect(encodePacket(CHAT)).to.equal('{"action":"chat","data":{"text":"héllo"},"packet-created":1,"token":"tok","id":3}');
  });

  it('decodes the text and its UTF-8 bytes back to the packet', () => {
    expect(decodePacket(encodePacket(CHAT))).to.deep.equal(CHAT);
    expect(decodePacket(Buffer.from(encodePacket(CHAT), 'utf8'))).to.deep.equal(CHAT);
  });

  it('refuses what is not a packet with the PacketError code of the rule it broke', () => {
    expect(() => decodePacket('{"action":')).to.throw(PacketError).with.property('code', 'ERR_PACKET_JSON');
    expect(() => decodePacket('{"action":"x","data":1,"packet-created":1,"token":null,"extra":1}')).to.throw(PacketError).with.property('code', 'ERR_PACKET_UNKNOWN_KEY');
    expect(() => decodePacket(encodePacket(CHAT), { maxActionLength: 2 })).to.throw(PacketError).with.property('code', 'ERR_PACKET_ACTION_TOO_LONG');
  });

  it('refuses a packet JSON cannot represent', () => {
    expect(() => encodePacket({ ...CHAT, data: 1n })).to.throw(PacketError).with.property('code', 'ERR_PACKET_JSON');
  });
});
