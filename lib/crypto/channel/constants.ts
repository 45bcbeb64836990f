/**
 * Wire constants of the secure channel: message and record types, sizes, labels and limits.
 * docs/protocol.md ("Secure channel") specifies each of them byte for byte.
 * @module
 */

/** The first four bytes of every key-exchange message: "PNSC". */
export const CHANNEL_MAGIC = Buffer.from('PNSC', 'latin1');

/** The channel version this build speaks. */
export const CHANNEL_VERSION = 1;

/** Key-exchange message types (the byte after the version). */
export const MESSAGE_CLIENT_HELLO = 1;
export const MESSAGE_SERVER_HELLO = 2;

/** Bytes of each side's fresh random. */
export const RANDOM_BYTES = 32;
/** Bytes of a raw X25519 public or private key. */
export const X25519_KEY_BYTES = 32;
/** Bytes of magic, version and type at the start of every key-exchange message. */
export const MESSAGE_HEADER_BYTES = 6;
/** A ClientHello is always this long. */
export const CLIENT_HELLO_BYTES = MESSAGE_HEADER_BYTES + RANDOM_BYTES + X25519_KEY_BYTES;
/** Largest key-exchange message accepted, in bytes: room for an RSA-16384 key and signature. */
export const MAX_EXCHANGE_MESSAGE_BYTES = 8 * 1024;

/** Record content types (the first plaintext byte of a record). */
export const CONTENT_CLIENT_AUTH = 1;
export const CONTENT_DATA = 2;
export const CONTENT_KEY_UPDATE = 3;

/** Bytes of an AES-GCM tag; always checked at this length. */
export const TAG_BYTES = 16;
/** Bytes of an AES-GCM nonce (and of each direction's IV). */
export const NONCE_BYTES = 12;
/** Bytes of an AES-256 key, and of each traffic secret. */
export const KEY_BYTES = 32;
/** Largest content one record carries; a larger write is split over several records. */
export const MAX_RECORD_CONTENT_BYTES = 64 * 1024;
/** Largest record body (content type, content, tag) a receiver accepts. */
export const MAX_RECORD_BYTES = 1 + MAX_RECORD_CONTENT_BYTES + TAG_BYTES;
/**
 * Records one key may seal or open. A receiver refuses the next one; a sender updates its key well
 * before (see `DEFAULTS.channelRekeyRecords`).
 */
export const MAX_RECORDS_PER_KEY = 2 ** 24;

/** Labels that keep each derivation and each signature apart (ASCII, no terminator). */
export const LABEL_SERVER_SIGNATURE = 'pnetwork channel v1 server signature';
export const LABEL_CLIENT_SIGNATURE = 'pnetwork channel v1 client signature';
export const LABEL_CLIENT_TO_SERVER = 'pnetwork channel v1 c2s';
export const LABEL_SERVER_TO_CLIENT = 'pnetwork channel v1 s2c';
export const LABEL_KEY = 'key';
export const LABEL_IV = 'iv';
export const LABEL_NEXT = 'next';

/** RSA-PSS salt length for both signatures, in bytes (the SHA-256 digest length). */
export const PSS_SALT_BYTES = 32;
