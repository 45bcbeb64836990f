/**
 * The handshake as operators over decoded packets: the first packet must be a handshake, within a
 * time limit; after it every packet must carry the connection's token.
 * @module
 */
import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { PROTOCOL_VERSION } from '../defaults.js';
import {
  ConnectionRefusedError,
  HandshakeError,
  HandshakeTimeoutError,
  PacketError,
  remoteErrorFrom,
  ReservedActionError,
  TokenMismatchError,
  type PnetworkError,
} from '../errors.js';
import type { Packet } from '../protocol/packet.js';

/** The handshake completed: the connection's token and the handshake packet's data. */
export interface HandshakeDone {
  /** Tells the event kinds apart. */
  readonly type: 'handshake';
  /** The connection's secret token. */
  readonly token: string;
  /** The handshake packet's data. */
  readonly data: Record<string, unknown>;
}

/** A packet that passed the token check. */
export interface PacketAccepted {
  /** Tells the event kinds apart. */
  readonly type: 'packet';
  /** The accepted packet. */
  readonly packet: Packet;
}

/** A packet refused after the handshake; the connection stays open. */
export interface PacketRejected {
  /** Tells the event kinds apart. */
  readonly type: 'rejected';
  /** Why it was refused. */
  readonly error: PnetworkError;
  /** The refused packet, when it could be decoded. */
  readonly packet?: Packet;
}

/** What a handshake operator emits. */
export type HandshakeEvent = HandshakeDone | PacketAccepted | PacketRejected;

/** Options for {@link serverHandshake}. */
export interface ServerHandshakeConfig {
  /** Time the peer has to send its handshake, in ms. */
  timeoutMs: number;
  /** Makes the secret token for a new connection (uuid v4 in production). */
  issueToken: () => string;
  /** Drives the timeout. @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
  /**
   * Decides, after the protocol checks, whether the handshake is accepted: the returned Observable
   * completes to accept (its values are ignored) and errors to refuse (the output then errors with that error). Null (or no
   * `admit`) accepts at once. Packets that arrive meanwhile are refused with `ERR_TOKEN_MISMATCH`: the
   * peer has no token yet. @defaultValue accept every handshake
   */
  admit?: (done: HandshakeDone) => Observable<unknown> | null;
}

/** Options for {@link clientHandshake}. */
export interface ClientHandshakeConfig {
  /** Time the server has to answer the handshake, in ms. */
  timeoutMs: number;
  /** Drives the timeout. @defaultValue asyncScheduler */
  scheduler?: SchedulerLike;
}

/**
 * Server side. Input: decoded packets, or the `PacketError` of a payload that failed to decode.
 *
 * ```
 * input:  --h---p---x---|      h = handshake, p = packet with the issued token, x = wrong token
 * output: --H---P---R---|      H = { type: 'handshake', token }, P = accepted, R = rejected
 * ```
 *
 * Errors with `HandshakeTimeoutError` when nothing arrives within `timeoutMs`, with `HandshakeError`
 * (`ERR_HANDSHAKE_REQUIRED`) when the first packet is not a valid handshake, and with `HandshakeError`
 * (`ERR_PROTOCOL_VERSION`) when the peer speaks another protocol version.
 */
export function serverHandshake(config: ServerHandshakeConfig): OperatorFunction<Packet | PacketError, HandshakeEvent> {
  return handshakeOperator(config.timeoutMs, config.scheduler ?? asyncScheduler, (first) => {
    if (first.action !== 'handshake' || first.token !== null || !isRecord(first.data)) {
      throw new HandshakeError('the first packet must be {action: "handshake", data: {protocol}, token: null}');
    }
    if (first.data.protocol !== PROTOCOL_VERSION) {
      throw new HandshakeError(
        `unsupported protocol version ${JSON.stringify(first.data.protocol) ?? 'undefined'}; this server speaks ${PROTOCOL_VERSION}`,
        'ERR_PROTOCOL_VERSION',
      );
    }
    return { type: 'handshake', token: config.issueToken(), data: first.data };
  }, config.admit);
}

/**
 * Client side. Input: decoded packets from the server (or decode errors).
 *
 * ```
 * input:  --h---p---|     h = the server's handshake reply carrying the token
 * output: --H---P---|
 * ```
 *
 * Errors with `HandshakeTimeoutError` when the reply does not come within `timeoutMs`, with
 * `RemoteError` when the server answers with an error packet (`ConnectionRefusedError` when that
 * packet says `retry: false`), and with `HandshakeError` when the reply
 * is malformed.
 */
export function clientHandshake(config: ClientHandshakeConfig): OperatorFunction<Packet | PacketError, HandshakeEvent> {
  return handshakeOperator(config.timeoutMs, config.scheduler ?? asyncScheduler, (first) => {
    if (first.action === 'error') {
      const error = remoteErrorFrom(first.data, 'handshake refused');
      // `retry: false` marks a refusal by the server's middleware: the client is not to try again.
      throw isRecord(first.data) && first.data.retry === false ? new ConnectionRefusedError(error.remoteCode, error.message) : error;
    }
    if (first.action !== 'handshake' || !isRecord(first.data) || typeof first.data.token !== 'string' || first.data.token === '') {
      throw new HandshakeError('the server did not answer with a handshake carrying a token');
    }
    if (first.data.protocol !== PROTOCOL_VERSION) {
      throw new HandshakeError(`the server speaks protocol ${JSON.stringify(first.data.protocol)}`, 'ERR_PROTOCOL_VERSION');
    }
    return { type: 'handshake', token: first.data.token, data: first.data };
  });
}

function handshakeOperator(
  timeoutMs: number,
  scheduler: SchedulerLike,
  accept: (first: Packet) => HandshakeDone,
  admit?: (done: HandshakeDone) => Observable<unknown> | null,
): OperatorFunction<Packet | PacketError, HandshakeEvent> {
  return (source) =>
    new Observable<HandshakeEvent>((subscriber) => {
      let token: string | null = null;
      // Set while `admit` decides: the handshake has arrived, but no token is in force yet.
      let admission: Subscription | null = null;
      const complete = (done: HandshakeDone): void => {
        token = done.token;
        subscriber.next(done);
      };
      // Dropped once the handshake is done, so a long-lived connection does not keep it.
      let timer: Subscription | null = scheduler.schedule(() => subscriber.error(new HandshakeTimeoutError(timeoutMs)), timeoutMs);
      const subscription = source.subscribe({
        next(input) {
          if (admission !== null && token === null) {
            subscriber.next({ type: 'rejected', ...(input instanceof PacketError ? { error: input } : { error: new TokenMismatchError(input.action), packet: input }) });
            return;
          }
          if (token === null) {
            timer?.unsubscribe();
            timer = null;
            if (input instanceof PacketError) {
              subscriber.error(new HandshakeError(`the first packet was malformed: ${input.message}`));
              return;
            }
            let done: HandshakeDone;
            try {
              done = accept(input);
            } catch (err) {
              subscriber.error(err);
              return;
            }
            const deciding = admit?.(done) ?? null;
            if (deciding === null) {
              complete(done);
              return;
            }
            admission = deciding.subscribe({ error: (err: unknown) => subscriber.error(err), complete: () => complete(done) });
            return;
          }
          if (input instanceof PacketError) {
            subscriber.next({ type: 'rejected', error: input });
          } else if (input.token !== token) {
            subscriber.next({ type: 'rejected', error: new TokenMismatchError(input.action), packet: input });
          } else if (input.action === 'handshake') {
            subscriber.next({ type: 'rejected', error: new ReservedActionError('handshake'), packet: input });
          } else {
            subscriber.next({ type: 'packet', packet: input });
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        timer?.unsubscribe();
        admission?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
