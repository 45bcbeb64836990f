/**
 * The plain, readable form of a packet: the JSON text that travels in a frame's payload.
 * @module
 */
import { jsonCodec, JSON_CODEC } from './codec.js';
import type { Packet, PacketLimits } from './packet.js';

/**
 * A packet as its readable JSON text, exactly as the default codec puts it on the wire.
 * Anyone who sees this text (or the bytes on an unencrypted connection) can read every field.
 * @throws PacketError (`ERR_PACKET_JSON`) when the packet cannot be represented as JSON
 */
export function encodePacket(packet: Packet): string {
  return JSON_CODEC.encodeText(packet);
}

/**
 * Parses and validates a packet from its JSON text (or UTF-8 bytes).
 * @param limits validation limits @defaultValue DEFAULTS' maxActionLength and maxDepth
 * @throws PacketError naming the first rule the text broke
 */
export function decodePacket(text: string | Uint8Array, limits?: Partial<PacketLimits>): Packet {
  const codec = limits === undefined ? JSON_CODEC : jsonCodec(limits);
  return codec.decode(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}
