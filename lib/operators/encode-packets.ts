import { map, type OperatorFunction } from 'rxjs';
import { JSON_CODEC, type Codec } from '../protocol/codec.js';
import type { Packet } from '../protocol/packet.js';

/**
 * Serialises each packet into a frame payload.
 *
 * ```
 * packets:  --A--B--|
 * payloads: --a--b--|
 * ```
 *
 * Errors with `PacketError` (`ERR_PACKET_JSON`) on a packet the codec cannot represent.
 * @param codec how packets are serialised @defaultValue the JSON codec
 */
export function encodePackets(codec: Codec = JSON_CODEC): OperatorFunction<Packet, Uint8Array> {
  return map((packet) => codec.encode(packet));
}
