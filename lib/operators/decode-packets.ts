import { map, type OperatorFunction } from 'rxjs';
import { JSON_CODEC, type Codec } from '../protocol/codec.js';
import type { Packet } from '../protocol/packet.js';

/**
 * Decodes and validates each frame payload into a packet.
 *
 * ```
 * payloads: --a--b--|
 * packets:  --A--B--|
 * ```
 *
 * Errors with `PacketError` (its `code` names the broken rule) on the first payload that is not a
 * well-formed packet, and unsubscribes from the source.
 * @param codec how payloads are parsed @defaultValue the JSON codec
 */
export function decodePackets(codec: Codec = JSON_CODEC): OperatorFunction<Uint8Array, Packet> {
  return map((payload) => codec.decode(payload));
}
