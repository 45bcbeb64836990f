/**
 * Sealed packets: a packet only the holder of one private key can read, even when a server relays it.
 *
 * Hybrid encryption: a fresh AES-256-GCM key and IV per packet; the key is wrapped with RSA-OAEP
 * (SHA-256 for the hash and MGF1) for the recipient. The sealed packet keeps `packet-created`, `token`
 * and `id` in the clear (a connection needs them) and binds them, with the wrapping, as associated data;
 * `action` and `data` travel only inside the ciphertext. docs/protocol.md ("Sealed packets") is the format.
 * @module
 */
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { DEFAULTS } from '../defaults.js';
import { DecryptionError, InvalidKeyError, PacketError } from '../errors.js';
import { validatePacket, type Packet, type PacketLimits } from '../protocol/packet.js';
import type { CipherBackend, CipherBackendName } from './cipher-backend.js';
import { forgeCipher } from './forge-cipher.js';
import { fingerprint } from './keys.js';
import { nodeCipher } from './node-cipher.js';

/** Checks and decodes the opened content's UTF-8 in one pass, as the JSON codec does a payload. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The action of every sealed packet. */
export const SEALED_ACTION = 'sealed';
/** The sealed packet format version this build writes and reads. */
export const SEALED_VERSION = 1;

/** The `data` of a sealed packet. Binary fields are standard base64 with padding. */
export interface SealedData {
  /** Format version: 1. */
  v: number;
  /** Fingerprint of the recipient's public key (base64 SHA-256 of its SPKI DER). */
  kid: string;
  /** The AES-256 content key, RSA-OAEP-wrapped for the recipient. */
  key: string;
  /** The 12-byte AES-GCM IV. */
  iv: string;
  /** The ciphertext of the inner JSON `{"action":…,"data":…}`. */
  ct: string;
  /** The 16-byte GCM tag. */
  tag: string;
}

/** A sealed packet: an ordinary packet whose action is `sealed` and whose data is {@link SealedData}. */
export type SealedPacket = Packet<typeof SEALED_ACTION, SealedData>;

/** A key as PEM text, DER, or a node:crypto KeyObject. */
export type KeyInput = string | Buffer | KeyObject;

/** Options for sealing and opening. */
export interface SealOptions {
  /** Cipher library: `node` (node:crypto, the default) or `forge` (pure JavaScript). Either opens what the other sealed. @defaultValue 'node' */
  backend?: CipherBackendName;
}

/** Options for opening. */
export interface OpenOptions extends SealOptions {
  /** Limits the opened packet is validated against. @defaultValue DEFAULTS' maxActionLength and maxDepth */
  limits?: Partial<PacketLimits>;
}

/** Fixed inputs that make sealing deterministic, for known-answer tests. Never use them otherwise. */
export interface FixedSealInputs {
  contentKey: Buffer;
  iv: Buffer;
  /** OAEP seed (32 bytes); only the forge back end accepts one. */
  oaepSeed?: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FINGERPRINT_BYTES = 32;
const AAD_LABEL = Buffer.from('pnetwork-sealed/1', 'ascii');
const ABSENT = 0xffffffff;
const SEALED_KEYS = ['v', 'kid', 'key', 'iv', 'ct', 'tag'] as const;

const BACKENDS: Readonly<Record<CipherBackendName, CipherBackend>> = { node: nodeCipher, forge: forgeCipher };

/** The back end of that name. @throws RangeError for an unknown name */
export function cipherBackend(name: CipherBackendName = DEFAULTS.sealedPacketBackend): CipherBackend {
  const backend = (BACKENDS as Record<string, CipherBackend | undefined>)[name];
  if (!backend) throw new RangeError(`backend must be "node" or "forge"; got ${String(name)}`);
  return backend;
}

/**
 * Seals `packet` so only the holder of the private key for `recipientPublicKey` can open it.
 * ```
 * { action: 'chat', data, packet-created, token }  →  { action: 'sealed', data: { v, kid, key, iv, ct, tag }, packet-created, token }
 * ```
 * The seal proves nothing about who sealed it: anyone with the public key can. Seal a packet with
 * `token: null` when it will be relayed, since the token stays readable.
 * @throws InvalidKeyError when the key is not an RSA public key (a private key's public half is used)
 * @throws PacketError when `packet-created` is not an integer or the packet cannot be serialised
 * @example
 * const sealed = encryptPacket(createPacket('chat', { text: 'hi' }), bob.publicKey);
 * client.sendPacket('relay', { to: 'bob', sealed });
 */
export function encryptPacket(packet: Packet, recipientPublicKey: KeyInput, options: SealOptions = {}): SealedPacket {
  return new PacketSealer(recipientPublicKey, cipherBackend(options.backend)).seal(packet);
}

/**
 * Opens a sealed packet and returns the original. Accepts the packet object or its JSON text / bytes.
 * @throws DecryptionError when it was tampered with, truncated, malformed, sealed for another key, or
 * is not a sealed packet at all
 * @throws PacketError when it opens but what is inside is not a valid packet
 * @throws InvalidKeyError when `privateKey` is not an RSA private key
 */
export function decryptPacket(sealed: Packet | string | Uint8Array, privateKey: KeyInput, options: OpenOptions = {}): Packet {
  return new PacketOpener(privateKey, options).open(sealed);
}

/** Seals packets for one recipient; the key is parsed once. */
export class PacketSealer {
  private readonly key: KeyObject;
  private readonly kid: string;

  /** @throws InvalidKeyError when the key is not RSA */
  constructor(recipientPublicKey: KeyInput, private readonly backend: CipherBackend = nodeCipher) {
    this.key = rsaPublicKey(recipientPublicKey);
    this.kid = keyId(this.key);
  }

  /** See {@link encryptPacket}. `fixed` is for known-answer tests only. */
  seal(packet: Packet, fixed?: FixedSealInputs): SealedPacket {
    const created = packet['packet-created'];
    if (!Number.isSafeInteger(created)) throw new PacketError('ERR_PACKET_FIELD_TYPE', 'a sealed packet needs an integer packet-created');
    let inner: string;
    try {
      inner = JSON.stringify({ action: packet.action, data: packet.data });
    } catch (cause) {
      throw new PacketError('ERR_PACKET_JSON', `packet "${packet.action}" cannot be serialised as JSON`, { cause });
    }
    const contentKey = fixed?.contentKey ?? randomBytes(KEY_BYTES);
    const iv = fixed?.iv ?? randomBytes(IV_BYTES);
    const wrapped = this.backend.wrapKey(contentKey, this.key, fixed?.oaepSeed);
    const aad = associatedData(Buffer.from(this.kid, 'base64'), wrapped, iv, created, packet.token, packet.id);
    const { ciphertext, tag } = this.backend.seal(contentKey, iv, Buffer.from(inner, 'utf8'), aad);
    contentKey.fill(0);
    const data: SealedData = {
      v: SEALED_VERSION,
      kid: this.kid,
      key: wrapped.toString('base64'),
      iv: iv.toString('base64'),
      ct: ciphertext.toString('base64'),
      tag: tag.toString('base64'),
    };
    const sealed: SealedPacket = { action: SEALED_ACTION, data, 'packet-created': created, token: packet.token };
    if (packet.id !== undefined) sealed.id = packet.id;
    return sealed;
  }
}

/** Opens packets sealed for one private key; the key is parsed once. */
export class PacketOpener {
  private readonly key: KeyObject;
  private readonly kid: string;
  private readonly modulusBytes: number;
  private readonly backend: CipherBackend;
  private readonly limits: PacketLimits;

  /** @throws InvalidKeyError when the key is not an RSA private key */
  constructor(privateKey: KeyInput, options: OpenOptions = {}) {
    this.key = rsaPrivateKey(privateKey);
    this.kid = keyId(this.key);
    this.modulusBytes = Math.ceil((this.key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    this.backend = cipherBackend(options.backend);
    this.limits = {
      maxActionLength: options.limits?.maxActionLength ?? DEFAULTS.maxActionLength,
      maxDepth: options.limits?.maxDepth ?? DEFAULTS.maxDepth,
    };
  }

  /** See {@link decryptPacket}. */
  open(input: Packet | string | Uint8Array): Packet {
    const envelope = parseEnvelope(input);
    const data = envelope.data;
    if (data.kid !== this.kid) throw new DecryptionError('sealed packet is for another key');
    const wrapped = strictBase64(data.key, this.modulusBytes);
    const iv = strictBase64(data.iv, IV_BYTES);
    const tag = strictBase64(data.tag, TAG_BYTES);
    const ciphertext = strictBase64(data.ct);
    const aad = associatedData(Buffer.from(data.kid, 'base64'), wrapped, iv, envelope['packet-created'], envelope.token, envelope.id);
    let plaintext: Buffer;
    try {
      const contentKey = this.backend.unwrapKey(wrapped, this.key);
      if (contentKey.length !== KEY_BYTES) throw new Error('content key is not 32 bytes');
      plaintext = this.backend.open(contentKey, iv, ciphertext, tag, aad);
      contentKey.fill(0);
    } catch {
      // One message for a bad wrapping and a bad tag: which check failed is nobody's business.
      throw new DecryptionError();
    }
    return this.restore(envelope, plaintext);
  }

  /** The opened content, validated as a received packet's payload is: UTF-8, JSON, an object, its keys. */
  private restore(envelope: SealedPacket, plaintext: Buffer): Packet {
    let text: string;
    try {
      text = UTF8.decode(plaintext);
    } catch {
      throw new PacketError('ERR_PACKET_UTF8', 'the sealed content is not valid UTF-8');
    }
    let inner: unknown;
    try {
      inner = JSON.parse(text);
    } catch (cause) {
      throw new PacketError('ERR_PACKET_JSON', 'the sealed content is not valid JSON', { cause });
    }
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
      throw new PacketError('ERR_PACKET_NOT_OBJECT', 'the sealed content must be a JSON object');
    }
    const extra = Object.keys(inner).find((key) => key !== 'action' && key !== 'data');
    if (extra !== undefined) throw new PacketError('ERR_PACKET_UNKNOWN_KEY', `the sealed content holds only action and data, not ${JSON.stringify(extra)}`);
    const { action, data } = inner as { action?: unknown; data?: unknown };
    const packet: Record<string, unknown> = { action, data, 'packet-created': envelope['packet-created'], token: envelope.token };
    if (envelope.id !== undefined) packet.id = envelope.id;
    return validatePacket(packet, this.limits);
  }
}

/**
 * The associated data: the label, then each field as a 4-byte big-endian length and its bytes; an absent
 * token or id is the length 0xFFFFFFFF with no bytes. Integers are their decimal digits in ASCII.
 */
function associatedData(kid: Buffer, wrapped: Buffer, iv: Buffer, created: number, token: string | null, id: number | undefined): Buffer {
  const fields: (Buffer | null)[] = [
    kid,
    wrapped,
    iv,
    Buffer.from(String(created), 'ascii'),
    token === null ? null : Buffer.from(token, 'utf8'),
    id === undefined ? null : Buffer.from(String(id), 'ascii'),
  ];
  const parts: Buffer[] = [AAD_LABEL];
  for (const field of fields) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(field === null ? ABSENT : field.length);
    parts.push(length);
    if (field !== null) parts.push(field);
  }
  return Buffer.concat(parts);
}

/** The sealed packet's fields, checked strictly; anything off is a DecryptionError. */
function parseEnvelope(input: Packet | string | Uint8Array): SealedPacket {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'));
    } catch {
      throw malformed('not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('not an object');
  const packet = value as Record<string, unknown>;
  for (const key of Object.keys(packet)) {
    if (key !== 'action' && key !== 'data' && key !== 'packet-created' && key !== 'token' && key !== 'id') throw malformed(`unknown key`);
  }
  if (packet.action !== SEALED_ACTION) throw malformed('action is not "sealed"');
  if (!Number.isSafeInteger(packet['packet-created'])) throw malformed('packet-created is not an integer');
  if (packet.token !== null && typeof packet.token !== 'string') throw malformed('token is not a string or null');
  if (packet.id !== undefined && !(Number.isSafeInteger(packet.id) && (packet.id as number) >= 0)) throw malformed('id is not a non-negative integer');
  const data = packet.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw malformed('data is not an object');
  const fields = data as Record<string, unknown>;
  if (Object.keys(fields).length !== SEALED_KEYS.length || SEALED_KEYS.some((key) => !(key in fields))) throw malformed('data has the wrong fields');
  if (fields.v !== SEALED_VERSION) throw malformed(`version is not ${SEALED_VERSION}`);
  for (const key of SEALED_KEYS.slice(1)) if (typeof fields[key] !== 'string') throw malformed(`${key} is not a string`);
  strictBase64(fields.kid as string, FINGERPRINT_BYTES);
  return packet as unknown as SealedPacket;
}

/** Decodes canonical base64 only (padding included, no whitespace), so no two texts mean the same bytes. */
function strictBase64(text: string, length?: number): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw malformed('a field is not canonical base64');
  if (length !== undefined && bytes.length !== length) throw malformed('a field has the wrong length');
  return bytes;
}

function malformed(why: string): DecryptionError {
  return new DecryptionError(`malformed sealed packet: ${why}`);
}

// encryptPacket(packet, pem) is often called with the same few keys: parse each PEM once. Bounded, and
// holds nothing the caller does not hold already.
const PARSED_KEYS_KEPT = 16;
const parsedKeys = new Map<string, KeyObject>();
const keyIds = new WeakMap<KeyObject, string>();

/** The key's fingerprint, computed once per KeyObject. */
function keyId(key: KeyObject): string {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = fingerprint(key);
    keyIds.set(key, id);
  }
  return id;
}

function parsedOnce(kind: 'public' | 'private', input: KeyInput, parse: (input: KeyInput) => KeyObject): KeyObject {
  if (typeof input !== 'string') return parse(input);
  const id = `${kind}:${input}`;
  let key = parsedKeys.get(id);
  if (!key) {
    key = parse(input);
    if (parsedKeys.size >= PARSED_KEYS_KEPT) parsedKeys.delete(parsedKeys.keys().next().value!);
    parsedKeys.set(id, key);
  }
  return key;
}

function rsaPublicKey(input: KeyInput): KeyObject {
  return parsedOnce('public', input, parseRsaPublicKey);
}

function rsaPrivateKey(input: KeyInput): KeyObject {
  return parsedOnce('private', input, parseRsaPrivateKey);
}

function parseRsaPublicKey(input: KeyInput): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'object' && !Buffer.isBuffer(input) ? (input.type === 'public' ? input : createPublicKey(input)) : createPublicKey(input);
  } catch (cause) {
    throw new InvalidKeyError('not an RSA public key', { cause });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new InvalidKeyError('sealed packets need an RSA key');
  return key;
}

function parseRsaPrivateKey(input: KeyInput): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'object' && !Buffer.isBuffer(input) ? input : createPrivateKey(input);
  } catch (cause) {
    throw new InvalidKeyError('not an RSA private key', { cause });
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') throw new InvalidKeyError('opening a sealed packet needs an RSA private key');
  return key;
}
