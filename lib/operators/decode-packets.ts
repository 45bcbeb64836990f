import { map, type OperatorFunction } from 'rxjs';
import { JSON_CODEC, type Codec } from '../protocol/codec.js';
import type { Packet } from '../protocol/packet.js';
import { PacketError } from '../errors.js';

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

/**
 * Like {@link decodePackets}, but a payload that is not a well-formed packet is emitted as its
 * `PacketError` instead of ending the stream, so a connection can refuse one packet and carry on.
 * Errors other than `PacketError` still error the stream.
 */
export function decodePacketsOrErrors(codec: Codec = JSON_CODEC): OperatorFunction<Uint8Array, Packet | PacketError> {
  return map((payload) => {
    try {
      return codec.decode(payload);
    } catch (err) {
      if (err instanceof PacketError) return err;
      throw err;
    }
  });
}
