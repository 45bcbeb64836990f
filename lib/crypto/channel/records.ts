/**
 * The record layer: AES-256-GCM with a 16-byte tag, a nonce made of the direction's IV XOR a 64-bit
 * record counter (never sent, never reused), and the record's 4-byte length header as associated
 * data. Plaintext leaves the opener only after its tag verified.
 * @module
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ChannelProtocolError, DecryptionError } from '../../errors.js';
import { CONTENT_DATA, CONTENT_KEY_UPDATE, MAX_RECORDS_PER_KEY, NONCE_BYTES, TAG_BYTES } from './constants.js';
import { nextSecret, trafficKeys, type TrafficKeys } from './key-schedule.js';

/** Bytes of the length header in front of every record (the framing's own header). */
const HEADER_BYTES = 4;

/** What a record adds to its content: the length header, the content type and the tag. */
const RECORD_OVERHEAD_BYTES = HEADER_BYTES + 1 + TAG_BYTES;

/**
 * Most content this sealer puts in one record (a receiver accepts up to 64 KiB). 16 KiB, as TLS: a
 * 64 KiB batch sealed as one record ran at 16-31k 4 KiB packets/s on this machine, as four records of
 * 16 KiB at 39-42k, the output buffers being smaller.
 */
export const SEAL_CONTENT_BYTES = 16 * 1024;

/** The nonce for record `counter`: the IV with the counter XORed into its last 8 bytes, big-endian. */
export function recordNonce(iv: Uint8Array, counter: number): Buffer {
  const nonce = Buffer.from(iv);
  const high = Math.floor(counter / 2 ** 32);
  const low = counter >>> 0;
  nonce.writeUInt32BE((nonce.readUInt32BE(NONCE_BYTES - 8) ^ high) >>> 0, NONCE_BYTES - 8);
  nonce.writeUInt32BE((nonce.readUInt32BE(NONCE_BYTES - 4) ^ low) >>> 0, NONCE_BYTES - 4);
  return nonce;
}

/** One direction's key state: traffic secret, key, IV and the count of records under this key. */
class DirectionState {
  // # fields, so that printing a sealer or opener (util.inspect) shows no key material.
  #secret: Buffer;
  #keys: TrafficKeys;
  /** Records sealed or opened under the current key; the next record's nonce counter. */
  protected counter = 0;
  /** Records sealed or opened on this connection, key updates included. */
  records = 0;

  constructor(secret: Uint8Array) {
    this.#secret = Buffer.from(secret);
    this.#keys = trafficKeys(this.#secret);
  }

  /** This direction's current key and IV. */
  protected get keys(): TrafficKeys {
    return this.#keys;
  }

  /** Moves to the next traffic secret; the counter starts again at 0. */
  protected update(): void {
    this.#secret = nextSecret(this.#secret);
    this.#keys = trafficKeys(this.#secret);
    this.counter = 0;
  }
}

/** Seals outgoing bytes into records for one direction. */
export class RecordSealer extends DirectionState {
  /**
   * @param secret this direction's first traffic secret
   * @param rekeyAfterRecords records sealed under one key before a key update is sent first
   */
  constructor(
    secret: Uint8Array,
    private readonly rekeyAfterRecords: number,
  ) {
    super(secret);
    if (!(Number.isInteger(rekeyAfterRecords) && rekeyAfterRecords >= 1 && rekeyAfterRecords < MAX_RECORDS_PER_KEY)) {
      throw new RangeError(`rekeyAfterRecords must be an integer from 1 to ${MAX_RECORDS_PER_KEY - 1}, got ${rekeyAfterRecords}`);
    }
  }

  /**
   * Seals application bytes (whole frames, usually one tick's batch) as data records of at most
   * {@link SEAL_CONTENT_BYTES} each, back to back in one buffer, ready for one socket write.
   */
  seal(bytes: Uint8Array): Buffer {
    const count = Math.max(1, Math.ceil(bytes.length / SEAL_CONTENT_BYTES));
    // The key's budget runs out inside this batch: seal record by record, each with its update when due.
    if (this.counter + count > this.rekeyAfterRecords) return this.sealEach(bytes);
    const out = Buffer.allocUnsafe(bytes.length + count * RECORD_OVERHEAD_BYTES);
    let at = 0;
    for (let from = 0; at === 0 || from < bytes.length; from += SEAL_CONTENT_BYTES) {
      at = this.sealInto(out, at, CONTENT_DATA, bytes.subarray(from, from + SEAL_CONTENT_BYTES));
    }
    return out;
  }

  /** Seals one record of the given content type; a key update goes first when the key's budget is spent. */
  sealRecord(type: number, content: Uint8Array): Buffer {
    if (this.counter >= this.rekeyAfterRecords) {
      const update = this.sealOne(CONTENT_KEY_UPDATE, new Uint8Array(0));
      this.update();
      return Buffer.concat([update, this.sealOne(type, content)]);
    }
    return this.sealOne(type, content);
  }

  private sealEach(bytes: Uint8Array): Buffer {
    const records: Buffer[] = [];
    for (let from = 0; records.length === 0 || from < bytes.length; from += SEAL_CONTENT_BYTES) {
      records.push(this.sealRecord(CONTENT_DATA, bytes.subarray(from, from + SEAL_CONTENT_BYTES)));
    }
    return Buffer.concat(records);
  }

  private sealOne(type: number, content: Uint8Array): Buffer {
    const record = Buffer.allocUnsafe(content.length + RECORD_OVERHEAD_BYTES);
    this.sealInto(record, 0, type, content);
    return record;
  }

  /** Seals one record into `out` from `at`; returns the offset just after it. */
  private sealInto(out: Buffer, at: number, type: number, content: Uint8Array): number {
    const bodyLength = 1 + content.length + TAG_BYTES;
    out.writeUInt32BE(bodyLength, at);
    const cipher = createCipheriv('aes-256-gcm', this.keys.key, recordNonce(this.keys.iv, this.counter), { authTagLength: TAG_BYTES });
    cipher.setAAD(out.subarray(at, at + HEADER_BYTES));
    let to = at + HEADER_BYTES;
    to += cipher.update(Buffer.of(type)).copy(out, to);
    to += cipher.update(content).copy(out, to);
    to += cipher.final().copy(out, to);
    to += cipher.getAuthTag().copy(out, to);
    this.counter++;
    this.records++;
    return to;
  }
}

/** An opened record: its content type and content. */
export interface OpenedRecord {
  readonly type: number;
  readonly content: Buffer;
}

/** Opens incoming records for one direction, in order. */
export class RecordOpener extends DirectionState {
  /**
   * Opens one record body (the bytes after its length header). A key update is applied here and
   * returned with empty content; the caller decides what each other type means.
   * @throws DecryptionError when the tag does not verify (the record was changed, replayed, reordered,
   * reflected, or sealed with another key); nothing of its content is returned
   * @throws ChannelProtocolError when the key's record budget is spent or a key update carries content
   */
  open(body: Uint8Array): OpenedRecord {
    if (this.counter >= MAX_RECORDS_PER_KEY) throw new ChannelProtocolError(`the peer sent more than ${MAX_RECORDS_PER_KEY} records without a key update`);
    if (body.length < 1 + TAG_BYTES) throw new DecryptionError(`record of ${body.length} bytes is shorter than its tag`);
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    const tagAt = body.length - TAG_BYTES;
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keys.key, recordNonce(this.keys.iv, this.counter), { authTagLength: TAG_BYTES });
      decipher.setAAD(header);
      decipher.setAuthTag(body.subarray(tagAt));
      const head = decipher.update(body.subarray(0, tagAt));
      // final() checks the tag: until it returns, `head` is unauthenticated and goes nowhere.
      const tail = decipher.final();
      plain = tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch (err) {
      throw new DecryptionError(`record ${this.records} failed authentication`, { cause: err });
    }
    this.counter++;
    this.records++;
    const type = plain[0]!;
    const content = plain.subarray(1);
    if (type === CONTENT_KEY_UPDATE) {
      if (content.length !== 0) throw new ChannelProtocolError('a key-update record carries content');
      this.update();
    }
    return { type, content };
  }
}
