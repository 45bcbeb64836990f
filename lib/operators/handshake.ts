/**
 * The handshake as operators over decoded packets: the first packet must be a handshake, within a
 * time limit; after it every packet must carry the connection's token.
 * @module
 */
import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { PROTOCOL_VERSION } from '../defaults.js';
import {
  ConnectionClosedError,
  ConnectionRefusedError,
  HandshakeError,
  HandshakeTimeoutError,
  PacketError,
  remoteErrorFrom,
  ReservedActionError,
  TokenMismatchError,
  type PnetworkError,
} from '../errors.js';
import { closingReason } from '../protocol/closing.js';
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
  return handshakeOperator(serverHandshakeRules(config));
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
  return handshakeOperator(clientHandshakeRules(config));
}

/**
 * @internal One side's handshake rules, made once per Server or Client and shared by all its
 * connections; `admit` is told which connection (`owner`) it decides for.
 */
export interface HandshakeRules<Owner = unknown> {
  readonly timeoutMs: number;
  readonly scheduler: SchedulerLike;
  /** Checks the first packet; throws the error that refuses it. */
  accept(first: Packet): HandshakeDone;
  /** As {@link ServerHandshakeConfig.admit}, for one owner. */
  admit?(done: HandshakeDone, owner: Owner): Observable<unknown> | null;
}

/** @internal The server's rules: a handshake packet with the current protocol, answered with a new token. */
export function serverHandshakeRules<Owner>(
  config: Omit<ServerHandshakeConfig, 'admit'> & { admit?: (done: HandshakeDone, owner: Owner) => Observable<unknown> | null },
): HandshakeRules<Owner> {
  const { issueToken, admit } = config;
  return {
    timeoutMs: config.timeoutMs,
    scheduler: config.scheduler ?? asyncScheduler,
    accept(first) {
      if (first.action !== 'handshake' || first.token !== null || !isRecord(first.data)) {
        throw new HandshakeError('the first packet must be {action: "handshake", data: {protocol}, token: null}');
      }
      if (first.data.protocol !== PROTOCOL_VERSION) {
        throw new HandshakeError(
          `unsupported protocol version ${JSON.stringify(first.data.protocol) ?? 'undefined'}; this server speaks ${PROTOCOL_VERSION}`,
          'ERR_PROTOCOL_VERSION',
        );
      }
      return { type: 'handshake', token: issueToken(), data: first.data };
    },
    ...(admit ? { admit } : {}),
  };
}

/** @internal The client's rules: the server's reply must carry a token (or is the error refusing us). */
export function clientHandshakeRules(config: ClientHandshakeConfig): HandshakeRules {
  return {
    timeoutMs: config.timeoutMs,
    scheduler: config.scheduler ?? asyncScheduler,
    accept(first) {
      // The server stopped (or closed this connection) before answering: it says why.
      if (first.action === 'closing') throw new ConnectionClosedError(closingReason(first.data));
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
    },
  };
}

/** @internal Where a handshake gate sends its events; after `error` it sends nothing more. */
export interface HandshakeOutput {
  next(event: HandshakeEvent): void;
  error(err: unknown): void;
}

/**
 * @internal The handshake for one connection, as a state machine: the operators and the connection's
 * inbound reader both push packets through one. Its timer runs from construction until the first
 * packet; `stop()` cancels whatever is still running.
 */
export class HandshakeGate<Owner = unknown> {
  // A # field, so that util.inspect of a connection (which holds its gate) does not show the token.
  #token: string | null = null;
  /** Set while `admit` decides: the handshake has arrived, but no token is in force yet. */
  private admission: Subscription | null = null;
  private deciding = false;
  private timer: Subscription | null;

  constructor(
    private readonly rules: HandshakeRules<Owner>,
    private readonly output: HandshakeOutput,
    private readonly owner: Owner,
  ) {
    this.timer = rules.scheduler.schedule(handshakeTimedOut, rules.timeoutMs, this);
  }

  /** One decoded packet, or the error of one that could not be decoded. */
  push(input: Packet | PacketError): void {
    const token = this.#token;
    if (token !== null) {
      if (input instanceof PacketError) this.output.next({ type: 'rejected', error: input });
      else if (input.token !== token) this.output.next({ type: 'rejected', error: new TokenMismatchError(input.action), packet: input });
      else if (input.action === 'handshake') this.output.next({ type: 'rejected', error: new ReservedActionError('handshake'), packet: input });
      else this.output.next({ type: 'packet', packet: input });
      return;
    }
    if (this.deciding) {
      this.output.next({ type: 'rejected', ...(input instanceof PacketError ? { error: input } : { error: new TokenMismatchError(input.action), packet: input }) });
      return;
    }
    this.timer?.unsubscribe();
    this.timer = null;
    if (input instanceof PacketError) {
      this.output.error(new HandshakeError(`the first packet was malformed: ${input.message}`));
      return;
    }
    let done: HandshakeDone;
    try {
      done = this.rules.accept(input);
    } catch (err) {
      this.output.error(err);
      return;
    }
    const decision = this.rules.admit?.(done, this.owner) ?? null;
    if (decision === null) {
      this.complete(done);
      return;
    }
    this.deciding = true;
    const admission = decision.subscribe({ error: (err: unknown) => this.output.error(err), complete: () => this.complete(done) });
    // Kept only while undecided (a decision may come synchronously): the connection's life does not hold it.
    if (this.#token === null) this.admission = admission;
  }

  /** Cancels the timer and an admission still deciding. */
  stop(): void {
    this.timer?.unsubscribe();
    this.timer = null;
    this.admission?.unsubscribe();
    this.admission = null;
  }

  /** @internal The timer fired: nothing arrived in time. */
  timedOut(): void {
    this.timer = null;
    this.output.error(new HandshakeTimeoutError(this.rules.timeoutMs));
  }

  private complete(done: HandshakeDone): void {
    this.#token = done.token;
    this.deciding = false;
    this.admission = null;
    this.output.next(done);
  }
}

/** The timer's work, one function for every gate (no closure per connection). */
function handshakeTimedOut(gate?: HandshakeGate): void {
  gate!.timedOut();
}

function handshakeOperator(rules: HandshakeRules<undefined>): OperatorFunction<Packet | PacketError, HandshakeEvent> {
  return (source) =>
    new Observable<HandshakeEvent>((subscriber) => {
      const gate = new HandshakeGate(rules, subscriber, undefined);
      const subscription = source.subscribe({
        next: (input) => gate.push(input),
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        gate.stop();
        subscription.unsubscribe();
      };
    });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
