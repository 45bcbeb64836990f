/**
 * The key exchange's messages and the client-auth record content, to and from bytes. Every length is
 * checked before it is used; a malformed message is a ChannelProtocolError.
 * @module
 */
import { ChannelProtocolError } from '../../errors.js';
import {
  CHANNEL_MAGIC,
  CHANNEL_VERSION,
  CLIENT_HELLO_BYTES,
  MESSAGE_CLIENT_HELLO,
  MESSAGE_HEADER_BYTES,
  MESSAGE_SERVER_HELLO,
  RANDOM_BYTES,
  X25519_KEY_BYTES,
} from './constants.js';

/** ClientHello: the client's fresh random and ephemeral key. */
export interface ClientHello {
  readonly random: Buffer;
  readonly publicKey: Buffer;
}

/** ServerHello: the server's random, ephemeral key, RSA key (SPKI DER) and signature. */
export interface ServerHello extends ClientHello {
  readonly serverKey: Buffer;
  readonly signature: Buffer;
}

/** The content of the client's first record: its RSA key and signature, or two empty fields. */
export interface ClientAuth {
  readonly clientKey: Buffer;
  readonly signature: Buffer;
}

function header(type: number): Buffer {
  return Buffer.concat([CHANNEL_MAGIC, Buffer.of(CHANNEL_VERSION, type)]);
}

/** A 2-byte big-endian length and the bytes it counts. */
function field(bytes: Uint8Array): Buffer {
  if (bytes.length > 0xffff) throw new RangeError('a channel field holds at most 65535 bytes');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** True when the payload starts like a key-exchange message (any version or type). */
export function looksLikeExchangeMessage(payload: Uint8Array): boolean {
  return payload.length >= CHANNEL_MAGIC.length && CHANNEL_MAGIC.equals(payload.subarray(0, CHANNEL_MAGIC.length));
}

function expectHeader(payload: Buffer, type: number, name: string): void {
  if (!looksLikeExchangeMessage(payload)) throw new ChannelProtocolError(`expected a ${name}: the message does not start with "PNSC"`);
  if (payload.length < MESSAGE_HEADER_BYTES) throw new ChannelProtocolError(`${name} is truncated`);
  if (payload[4] !== CHANNEL_VERSION) throw new ChannelProtocolError(`${name} has channel version ${payload[4]}, this side speaks ${CHANNEL_VERSION}`);
  if (payload[5] !== type) throw new ChannelProtocolError(`expected a ${name}, got message type ${payload[5]}`);
}

/** Reads length-prefixed fields from a buffer, refusing any that run past its end. */
class FieldReader {
  constructor(
    private readonly bytes: Buffer,
    private offset: number,
    private readonly name: string,
  ) {}

  fixed(length: number): Buffer {
    if (this.offset + length > this.bytes.length) throw new ChannelProtocolError(`${this.name} is truncated`);
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return Buffer.from(out);
  }

  field(): Buffer {
    const length = this.fixed(2).readUInt16BE(0);
    return this.fixed(length);
  }

  end(): void {
    if (this.offset !== this.bytes.length) throw new ChannelProtocolError(`${this.name} has ${this.bytes.length - this.offset} bytes too many`);
  }
}

/** ClientHello bytes: magic, version, type 1, random (32), X25519 key (32). */
export function encodeClientHello(hello: ClientHello): Buffer {
  return Buffer.concat([header(MESSAGE_CLIENT_HELLO), hello.random, hello.publicKey]);
}

/** @throws ChannelProtocolError when the bytes are not a ClientHello */
export function decodeClientHello(payload: Uint8Array): ClientHello {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  expectHeader(bytes, MESSAGE_CLIENT_HELLO, 'ClientHello');
  if (bytes.length !== CLIENT_HELLO_BYTES) throw new ChannelProtocolError(`ClientHello is ${bytes.length} bytes, not ${CLIENT_HELLO_BYTES}`);
  const reader = new FieldReader(bytes, MESSAGE_HEADER_BYTES, 'ClientHello');
  return { random: reader.fixed(RANDOM_BYTES), publicKey: reader.fixed(X25519_KEY_BYTES) };
}

/** The ServerHello bytes the signature covers: everything before the signature field. */
export function encodeUnsignedServerHello(hello: Omit<ServerHello, 'signature'>): Buffer {
  return Buffer.concat([header(MESSAGE_SERVER_HELLO), hello.random, hello.publicKey, field(hello.serverKey)]);
}

/** ServerHello bytes: magic, version, type 2, random, X25519 key, key field, signature field. */
export function encodeServerHello(hello: ServerHello): Buffer {
  return Buffer.concat([encodeUnsignedServerHello(hello), field(hello.signature)]);
}

/** @throws ChannelProtocolError when the bytes are not a ServerHello */
export function decodeServerHello(payload: Uint8Array): { hello: ServerHello; unsignedLength: number } {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  expectHeader(bytes, MESSAGE_SERVER_HELLO, 'ServerHello');
  const reader = new FieldReader(bytes, MESSAGE_HEADER_BYTES, 'ServerHello');
  const random = reader.fixed(RANDOM_BYTES);
  const publicKey = reader.fixed(X25519_KEY_BYTES);
  const serverKey = reader.field();
  const unsignedLength = MESSAGE_HEADER_BYTES + RANDOM_BYTES + X25519_KEY_BYTES + 2 + serverKey.length;
  const signature = reader.field();
  reader.end();
  return { hello: { random, publicKey, serverKey, signature }, unsignedLength };
}

/** Client-auth content: key field, signature field (both empty for a client without keys). */
export function encodeClientAuth(auth: ClientAuth): Buffer {
  return Buffer.concat([field(auth.clientKey), field(auth.signature)]);
}

/** @throws ChannelProtocolError when the bytes are not client-auth content */
export function decodeClientAuth(content: Uint8Array): ClientAuth {
  const reader = new FieldReader(Buffer.from(content.buffer, content.byteOffset, content.length), 0, 'client-auth record');
  const clientKey = reader.field();
  const signature = reader.field();
  reader.end();
  return { clientKey, signature };
}
