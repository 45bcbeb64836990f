/**
 * The key exchange as two small state machines, one per side, with no I/O: each takes the peer's
 * message as bytes and returns its own, so the known-answer specs can drive them with fixed randoms.
 *
 * ```
 * client                                         server
 * ClientHello  (random, X25519 key)        ─►
 *                                          ◄─    ServerHello (random, X25519 key, RSA key,
 *                                                  RSA-PSS signature over the transcript)
 * checks the pin, verifies the signature
 * record 0: client auth (key + signature,  ─►    verifies it, checks authorizedKeys
 *           or empty), then data records   ◄─►   data records
 * ```
 * @module
 */
import { constants, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ChannelProtocolError, SignatureError } from '../../errors.js';
import { fingerprint } from '../keys.js';
import { CONTENT_CLIENT_AUTH, MAX_EXCHANGE_MESSAGE_BYTES, PSS_SALT_BYTES, RANDOM_BYTES, X25519_KEY_BYTES } from './constants.js';
import { clientSignedContent, serverSignedContent, sessionSecrets, transcriptHash } from './key-schedule.js';
import { decodeClientAuth, decodeClientHello, decodeServerHello, encodeClientAuth, encodeClientHello, encodeServerHello, encodeUnsignedServerHello } from './messages.js';
import { RecordOpener, RecordSealer } from './records.js';
import { ephemeralKey, sharedSecret, type EphemeralKey } from './x25519.js';

/** An RSA identity key as the channel uses it: the private key and its public half as SPKI DER. */
export interface ChannelIdentity {
  readonly privateKey: KeyObject;
  readonly publicKeyDer: Buffer;
}

/** One side's established channel: a sealer for what it sends and an opener for what it receives. */
export interface ChannelEnds {
  readonly sealer: RecordSealer;
  readonly opener: RecordOpener;
  /** The hash of both hellos; the client's signature covers it. */
  readonly transcript: Buffer;
}

/** The fingerprint of a public key given as SubjectPublicKeyInfo DER (see {@link fingerprint}). */
export function spkiFingerprint(publicKeyDer: Uint8Array): string {
  return fingerprint(createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' }));
}

/** Makes an RSA identity from a PEM private key (PKCS#8 or PKCS#1). */
export function channelIdentity(privateKeyPem: string | KeyObject): ChannelIdentity {
  const privateKey = typeof privateKeyPem === 'string' ? privateKeyFrom(privateKeyPem) : privateKeyPem;
  if (privateKey.asymmetricKeyType !== 'rsa') throw new RangeError('the secure channel needs an RSA key');
  const publicKeyDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKeyDer };
}

function privateKeyFrom(pem: string): KeyObject {
  // Never pass on node's own message: say only what was wrong, nothing of the key.
  try {
    return createPrivateKey(pem);
  } catch {
    throw new RangeError('the private key is not a PEM RSA private key');
  }
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES };

function pssSign(identity: ChannelIdentity, content: Buffer): Buffer {
  return sign('sha256', content, { key: identity.privateKey, ...PSS });
}

/** An RSA public key a peer sent, parsed, with its fingerprint. */
interface PeerRsaKey {
  readonly key: KeyObject;
  readonly fingerprint: string;
}

/** Peer keys by their exact DER bytes: a client dials the same server again and again. */
const peerKeys = new Map<string, PeerRsaKey>();
const MAX_PEER_KEYS = 256;

/**
 * The RSA public key in `publicKeyDer`, as a peer sent it. Parsing one and computing its fingerprint
 * took about 0.35 ms here; the same bytes are always the same key, so the answer is kept for them
 * (bounded, oldest dropped first). A cached key still verifies its signature on every connection.
 */
function peerRsaKey(publicKeyDer: Buffer): PeerRsaKey {
  const id = publicKeyDer.toString('base64');
  const known = peerKeys.get(id);
  if (known !== undefined) return known;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  } catch (err) {
    throw new ChannelProtocolError('the peer sent a key that is not a SubjectPublicKeyInfo', { cause: err });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new ChannelProtocolError(`the peer's key is ${key.asymmetricKeyType ?? 'unknown'}, not RSA`);
  const parsed = { key, fingerprint: fingerprint(key) };
  peerKeys.set(id, parsed);
  if (peerKeys.size > MAX_PEER_KEYS) peerKeys.delete(peerKeys.keys().next().value!);
  return parsed;
}

function pssVerify(key: KeyObject, content: Buffer, signature: Buffer): boolean {
  return verify('sha256', content, { key, ...PSS }, signature);
}

/** What the client side needs: randomness, how it trusts a server key, and its own key if any. */
export interface ClientExchangeConfig {
  /** Source of fresh random bytes (node:crypto's randomBytes; fixed bytes in known-answer specs). */
  readonly random: (bytes: number) => Buffer;
  /** Accepts the server's key by its fingerprint, or throws the error that refuses it. */
  readonly trustServerKey: (fingerprint: string) => void;
  /** The client's own key, to sign the transcript; without it the client-auth record is empty. */
  readonly identity?: ChannelIdentity | null;
  /** Records sealed under one key before the client updates it. */
  readonly rekeyAfterRecords: number;
}

/** The client's established channel, with the client-auth record it must send first. */
export interface ClientChannel extends ChannelEnds {
  /** The sealed client-auth record, the first record of the client's direction. */
  readonly firstRecord: Buffer;
  /** The server key's fingerprint. */
  readonly serverFingerprint: string;
}

/** The client's half: makes the ClientHello, then checks the ServerHello and derives the keys. */
export class ClientKeyExchange {
  /** The ClientHello to send as the connection's first frame. */
  readonly hello: Buffer;
  private readonly ephemeral;

  constructor(private readonly config: ClientExchangeConfig) {
    const random = config.random(RANDOM_BYTES);
    this.ephemeral = ephemeralKey(config.random(X25519_KEY_BYTES));
    this.hello = encodeClientHello({ random, publicKey: this.ephemeral.publicKey });
  }

  /**
   * Reads the ServerHello: checks the server's key against the pin, verifies its signature, derives
   * both directions' keys and seals the client-auth record.
   * @throws ChannelProtocolError, SignatureError, or whatever `trustServerKey` throws
   */
  receive(payload: Uint8Array): ClientChannel {
    if (payload.length > MAX_EXCHANGE_MESSAGE_BYTES) throw new ChannelProtocolError(`ServerHello of ${payload.length} bytes is too large`);
    const { hello, unsignedLength } = decodeServerHello(payload);
    const { key: serverKey, fingerprint: serverFingerprint } = peerRsaKey(hello.serverKey);
    this.config.trustServerKey(serverFingerprint);
    const signingHash = transcriptHash(this.hello, payload.subarray(0, unsignedLength));
    if (!pssVerify(serverKey, serverSignedContent(signingHash), hello.signature)) {
      throw new SignatureError("the server's signature over the key exchange does not verify");
    }
    const transcript = transcriptHash(this.hello, payload);
    const secrets = sessionSecrets(sharedSecret(this.ephemeral, hello.publicKey), transcript);
    const sealer = new RecordSealer(secrets.clientToServer, this.config.rekeyAfterRecords);
    const opener = new RecordOpener(secrets.serverToClient);
    const identity = this.config.identity;
    const auth = identity
      ? { clientKey: identity.publicKeyDer, signature: pssSign(identity, clientSignedContent(transcript)) }
      : { clientKey: Buffer.alloc(0), signature: Buffer.alloc(0) };
    const firstRecord = sealer.sealRecord(CONTENT_CLIENT_AUTH, encodeClientAuth(auth));
    return { sealer, opener, transcript, firstRecord, serverFingerprint };
  }
}

/** What the server side needs. */
export interface ServerExchangeConfig {
  readonly random: (bytes: number) => Buffer;
  /** The server's ephemeral key for this exchange (used once); made from `random` when absent. */
  readonly ephemeral?: EphemeralKey;
  readonly identity: ChannelIdentity;
  readonly rekeyAfterRecords: number;
}

/** The server's half: answers one ClientHello with a signed ServerHello and derives the keys. */
export function answerClientHello(config: ServerExchangeConfig, payload: Uint8Array): ChannelEnds & { reply: Buffer } {
  const clientHello = decodeClientHello(payload);
  const random = config.random(RANDOM_BYTES);
  const ephemeral = config.ephemeral ?? ephemeralKey(config.random(X25519_KEY_BYTES));
  // Checked before signing anything: a bad key costs the server no RSA operation.
  const shared = sharedSecret(ephemeral, clientHello.publicKey);
  const unsigned = encodeUnsignedServerHello({ random, publicKey: ephemeral.publicKey, serverKey: config.identity.publicKeyDer });
  const signature = pssSign(config.identity, serverSignedContent(transcriptHash(payload, unsigned)));
  const reply = encodeServerHello({ random, publicKey: ephemeral.publicKey, serverKey: config.identity.publicKeyDer, signature });
  const transcript = transcriptHash(payload, reply);
  const secrets = sessionSecrets(shared, transcript);
  return {
    reply,
    transcript,
    sealer: new RecordSealer(secrets.serverToClient, config.rekeyAfterRecords),
    opener: new RecordOpener(secrets.clientToServer),
  };
}

/**
 * Reads the client-auth record's content.
 * @returns the client key's fingerprint, or null for a client without keys
 * @throws SignatureError when the client's signature does not verify; ChannelProtocolError when malformed
 */
export function verifyClientAuth(content: Uint8Array, transcript: Buffer): string | null {
  const auth = decodeClientAuth(content);
  if (auth.clientKey.length === 0) {
    if (auth.signature.length !== 0) throw new ChannelProtocolError('the client-auth record has a signature but no key');
    return null;
  }
  const clientKey = peerRsaKey(auth.clientKey);
  if (!pssVerify(clientKey.key, clientSignedContent(transcript), auth.signature)) {
    throw new SignatureError("the client's signature over the key exchange does not verify");
  }
  return clientKey.fingerprint;
}
