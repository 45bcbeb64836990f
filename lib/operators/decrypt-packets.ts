import { defer, map, type OperatorFunction } from 'rxjs';
import { PacketOpener, type KeyInput, type OpenOptions } from '../crypto/sealed-packet.js';
import type { Packet } from '../protocol/packet.js';

/**
 * Opens each sealed packet with `privateKey` (see `decryptPacket`).
 *
 * ```
 * sealed:  --a--b--|
 * packets: --A--B--|
 * ```
 *
 * Anything that does not open, including a plain packet, errors the stream with `DecryptionError` and
 * unsubscribes the source: a pipeline that expects sealed packets never passes an unsealed one on.
 * Errors with `InvalidKeyError` on subscription when the key is not an RSA private key.
 * @param privateKey the recipient's private key (PEM, DER or KeyObject)
 * @param options `backend`: 'node' (default) or 'forge'; `limits` for the opened packet
 * @example
 * frames$.pipe(decodePackets(), decryptPackets(keys.privateKey), ofAction('chat'))
 */
export function decryptPackets(privateKey: KeyInput, options: OpenOptions = {}): OperatorFunction<Packet, Packet> {
  return (source) =>
    defer(() => {
      const opener = new PacketOpener(privateKey, options);
      return source.pipe(map((sealed) => opener.open(sealed)));
    });
}
