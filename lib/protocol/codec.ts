/**
 * Codecs turn packets into payload bytes and back. JSON over UTF-8 is the default.
 * @module
 */
import { DEFAULTS } from '../defaults.js';
import { PacketError } from '../errors.js';
import { validatePacket, type Packet, type PacketLimits } from './packet.js';

/** Turns packets into bytes and bytes into validated packets. */
export interface Codec {
  /** A short name for diagnostics, such as `json`. */
  readonly name: string;
  /**
   * Serialises a packet.
   * @throws PacketError (`ERR_PACKET_JSON`) when the packet cannot be represented.
   */
  encode(packet: Packet): Uint8Array;
  /**
   * Parses and validates one payload.
   * @throws PacketError naming the rule the bytes broke.
   */
  decode(bytes: Uint8Array): Packet;
}

/** A codec that can also serialise straight to text, letting framing skip a copy. */
export interface TextCodec extends Codec {
  /** Serialises a packet to its text form. */
  encodeText(packet: Packet): string;
}

/**
 * Checks and decodes UTF-8 in one pass (rather than a check and then a decode). A leading BOM is kept,
 * so it is refused as JSON as before instead of being dropped.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Creates the JSON codec: UTF-8 JSON text, strictly validated on decode.
 * `__proto__` and `constructor` keys in data stay plain own properties (JSON.parse never invokes setters).
 */
export function jsonCodec(limits: Partial<PacketLimits> = {}): TextCodec {
  const rules: PacketLimits = {
    maxActionLength: limits.maxActionLength ?? DEFAULTS.maxActionLength,
    maxDepth: limits.maxDepth ?? DEFAULTS.maxDepth,
  };
  const encodeText = (packet: Packet): string => {
    let text: string | undefined;
    try {
      text = JSON.stringify(packet);
    } catch (cause) {
      throw new PacketError('ERR_PACKET_JSON', `packet "${packet.action}" cannot be serialised as JSON`, { cause });
    }
    if (text === undefined) throw new PacketError('ERR_PACKET_JSON', 'packet cannot be serialised as JSON');
    return text;
  };
  const codec: TextCodec = {
    name: 'json',
    encodeText,
    encode: (packet) => Buffer.from(encodeText(packet), 'utf8'),
    decode(bytes) {
      let text: string;
      try {
        text = UTF8.decode(bytes);
      } catch {
        throw new PacketError('ERR_PACKET_UTF8', 'payload is not valid UTF-8');
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (cause) {
        throw new PacketError('ERR_PACKET_JSON', 'payload is not valid JSON', { cause });
      }
      return validatePacket(value, rules);
    },
  };
  // Not enumerable, so a spread copy does not carry it; and it names this encodeText, so a codec that
  // replaced encodeText (one inheriting from this one, say) is not taken for this one.
  Object.defineProperty(codec, SPLICES_TOKEN, { value: encodeText });
  return codec;
}

/** On a JSON codec: its own encodeText, whose text is `JSON.stringify(packet)`. */
const SPLICES_TOKEN = Symbol('pnetwork.splicesToken');

/**
 * @internal True when `codec` writes packets as `JSON.stringify` does, fields in order: a packet for
 * many recipients can then be encoded once up to its token, and each recipient's token appended.
 */
export function splicesToken(codec: Codec): codec is TextCodec {
  const own = (codec as { [SPLICES_TOKEN]?: unknown })[SPLICES_TOKEN];
  return own !== undefined && own === (codec as Partial<TextCodec>).encodeText;
}

/** The default codec, with the default limits. */
export const JSON_CODEC: TextCodec = jsonCodec();

/** True when the codec can serialise to text (lets framing write the text without an extra copy). */
export function isTextCodec(codec: Codec): codec is TextCodec {
  return typeof (codec as Partial<TextCodec>).encodeText === 'function';
}
