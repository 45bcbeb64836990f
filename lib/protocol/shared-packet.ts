/**
 * One packet for many recipients (a broadcast), encoded once. Each copy differs only in its token, the
 * last field: with the JSON codec, every copy shares the bytes up to the token and ends with its
 * recipient's own. Any other codec encodes each copy in full.
 * @module
 */
import { FrameTooLargeError, PacketError, PnetworkError } from '../errors.js';
import { isTextCodec, splicesToken, type Codec } from './codec.js';
import type { Packet } from './packet.js';

/** What a token field is measured with before any recipient is known: a uuid's length. */
const SAMPLE_TOKEN = '00000000-0000-4000-8000-000000000000';

/** A packet whose token is filled in per recipient; checked once, before any copy is written. */
export class SharedPacket {
  /** The bytes every copy starts with, up to and including `"token":`; null when copies are encoded in full. */
  readonly head: Buffer | null;
  /** The packet's data (null for none). */
  readonly data: unknown;

  /**
   * @param codec how copies are encoded (the JSON codec itself splices; any other encodes each in full)
   * @param action the packet's action
   * @param data the packet's data (undefined is sent as null)
   * @param createdAt its `packet-created` time, in ms
   * @param maxFrameBytes the largest copy allowed, in bytes
   * @throws PacketError when the packet cannot be encoded; FrameTooLargeError when a copy would be
   * larger than `maxFrameBytes`
   */
  constructor(
    private readonly codec: Codec,
    /** The packet's action. */
    readonly action: string,
    data: unknown,
    /** Its `packet-created` time, in ms. */
    readonly createdAt: number,
    maxFrameBytes: number,
  ) {
    this.data = data ?? null;
    let length: number;
    if (splicesToken(codec)) {
      // Encoded without the token, and its closing brace replaced by the token's key.
      const text = codec.encodeText({ action, data: this.data, 'packet-created': createdAt } as unknown as Packet);
      this.head = Buffer.from(`${text.slice(0, -1)},"token":`, 'utf8');
      length = this.head.length + SAMPLE_TAIL_BYTES;
    } else {
      this.head = null;
      const sample = this.encodeFor(SAMPLE_TOKEN);
      length = typeof sample === 'string' ? Buffer.byteLength(sample, 'utf8') : sample.length;
    }
    if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  }

  /**
   * The whole copy for one token, for a codec that cannot splice (see {@link SharedPacket.head}).
   * @throws PacketError when the codec fails
   */
  encodeFor(token: string): string | Uint8Array {
    const packet: Packet = { action: this.action, data: this.data, 'packet-created': this.createdAt, token };
    try {
      return isTextCodec(this.codec) ? this.codec.encodeText(packet) : this.codec.encode(packet);
    } catch (err) {
      // A custom codec may throw anything; the caller always gets a coded error.
      throw err instanceof PnetworkError ? err : new PacketError('ERR_PACKET_JSON', `packet "${this.action}" could not be encoded`, { cause: err });
    }
  }
}

/** The end of one recipient's copy after {@link SharedPacket.head}: its token as JSON and the closing brace. */
export function tokenTail(token: string): Buffer {
  return Buffer.from(`${JSON.stringify(token)}}`, 'utf8');
}

/** The length of a uuid token's tail, to measure a copy before any recipient is known. */
const SAMPLE_TAIL_BYTES = tokenTail(SAMPLE_TOKEN).length;
