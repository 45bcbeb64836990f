import { defer, map, type OperatorFunction } from 'rxjs';
import { cipherBackend, PacketSealer, type KeyInput, type SealedPacket, type SealOptions } from '../crypto/sealed-packet.js';
import type { Packet } from '../protocol/packet.js';

/**
 * Seals each packet for the holder of `publicKey` (see `encryptPacket`).
 *
 * ```
 * packets: --A--B--|
 * sealed:  --a--b--|
 * ```
 *
 * The key is parsed once per subscription. Errors with `InvalidKeyError` on subscription when the key is
 * not an RSA key, and with `PacketError` on a packet that cannot be sealed, unsubscribing the source.
 * @param publicKey the recipient's public key (PEM, DER or KeyObject)
 * @param options `backend`: 'node' (default) or 'forge'
 * @example
 * packets$.pipe(encryptPackets(bob.publicKey), encodePackets(), encodeFrames())
 */
export function encryptPackets(publicKey: KeyInput, options: SealOptions = {}): OperatorFunction<Packet, SealedPacket> {
  return (source) =>
    defer(() => {
      const sealer = new PacketSealer(publicKey, cipherBackend(options.backend));
      return source.pipe(map((packet) => sealer.seal(packet)));
    });
}
