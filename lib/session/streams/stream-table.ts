/**
 * One connection's streams: opening them (as requester), accepting them (as responder), routing the
 * stream control packets to their halves, the limits, and ending everything when the connection closes.
 * The wire rules are in docs/protocol.md, "Streams".
 * @module
 */
import { Observable, type Subscriber } from 'rxjs';
import {
  PnetworkError,
  StreamCreditError,
  StreamLimitError,
  StreamProtocolError,
  StreamsUnsupportedError,
  StreamTimeoutError,
  remoteErrorFrom,
} from '../../errors.js';
import type { Packet } from '../../protocol/packet.js';
import { MAX_STREAM_ID, STREAM_ACTIONS, grantedCredit, readStreamPacket, streamPacket, type StreamControl, type StreamOpen } from '../../protocol/stream-packets.js';
import { FairSender } from './fair-sender.js';
import { CREDIT_OVERRUN, InboundStream, type InboundOwner, type InboundTiming } from './inbound-stream.js';
import { OutboundStream, type DescribeFailure, type OutboundEnd, type OutboundOwner } from './outbound-stream.js';
import { ReceiveCredit } from './receive-credit.js';
import type { PeerError, StreamSettings, StreamWire } from './stream-wire.js';

/** One open stream: who opened it and its two halves. */
interface StreamEntry {
  readonly id: number;
  /** True when this side opened it (this side is the requester). */
  readonly mine: boolean;
  /** Values this side receives: the responder's values (requester), or a channel's input (responder). */
  readonly inbound: InboundStream | null;
  /** Values this side sends: the handler's values (responder), or a channel's input (requester). */
  readonly outbound: OutboundStream | null;
  /** A requester's channel source, started at the responder's first grant. */
  readonly source: unknown;
  closed: boolean;
}

/** What a requester asks for when it opens a stream. */
export interface OpenStream {
  readonly action: string;
  readonly data: unknown;
  /** Receives the responder's values. */
  readonly subscriber: Subscriber<unknown>;
  /** The credit window kept topped up; 0 for demand mode. */
  readonly prefetch: number;
  /** Credit sent with the open. */
  readonly initialCredit: number;
  readonly timing?: InboundTiming;
  /** For a channel: the requester's values (an Observable, AsyncIterable or Iterable). */
  readonly source?: unknown;
}

/** A stream opened by the requester, for the demand API to grant credit on. */
export interface OpenedStream {
  /** Grants `n` more values to the responder. @throws StreamCreditError */
  request(n: number): void;
  /** Cancels the stream (the subscriber's teardown). */
  close(): void;
}

/** What the router gets for a stream open: the handler's input, and where its result goes. */
export interface StreamResponder {
  /** The handler's `data`: the open's data, or for a channel the Observable of the requester's values. */
  readonly data: unknown;
  /** Serves the handler's result as the stream's values; `describe` says how a failure shows to the peer. */
  serve(result: unknown, describe: DescribeFailure): void;
  /** Ends the stream with an error before any value (no handler, a handler that threw). */
  refuse(error: PeerError): void;
}

/** The streams of one connection. */
export class StreamTable implements OutboundOwner, InboundOwner {
  readonly sender: FairSender;
  readonly maxBufferedValues: number;
  readonly scheduler: StreamSettings['scheduler'];
  /** Whether the peer announced streams in its handshake. */
  peerSupportsStreams = false;
  private readonly entries = new Map<number, StreamEntry>();
  private readonly byOutbound = new Map<OutboundStream, StreamEntry>();
  private nextId: number;
  private openedHere = 0;
  private openedThere = 0;
  private closedWith: Error | null = null;

  /**
   * @param wire the connection's side of the machinery
   * @param settings limits and defaults
   * @param evenIds true on the server, which numbers its streams 2, 4, 6…; the client uses 1, 3, 5…
   */
  constructor(
    readonly wire: StreamWire,
    private readonly settings: StreamSettings,
    private readonly evenIds: boolean,
  ) {
    this.sender = new FairSender(wire);
    this.maxBufferedValues = settings.maxStreamBufferedValues;
    this.scheduler = settings.scheduler;
    this.nextId = evenIds ? 2 : 1;
  }

  /** Streams open now, in both directions. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Opens a stream as requester. Failures to open (closed connection, no stream support, the limit)
   * go to the subscriber as errors.
   * @returns the handle for demand and teardown, or null when it could not open
   */
  open(request: OpenStream): OpenedStream | null {
    const { subscriber } = request;
    const refused = this.refuseOpen();
    if (refused) {
      subscriber.error(refused);
      return null;
    }
    const id = this.nextId;
    this.nextId += 2;
    const channel = request.source !== undefined;
    const inbound = new InboundStream(id, new ReceiveCredit(request.initialCredit, request.prefetch), this, request.timing);
    const outbound = channel ? new OutboundStream(id, 0, this) : null;
    const entry: StreamEntry = { id, mine: true, inbound, outbound, source: request.source, closed: false };
    const packet: Packet = {
      action: request.action,
      data: request.data ?? null,
      'packet-created': 0,
      token: this.wire.token,
      stream: id,
      credit: request.initialCredit,
      ...(channel ? { channel: true } : {}),
    };
    const sendError = this.wire.trySend(packet);
    if (sendError) {
      subscriber.error(sendError);
      return null;
    }
    this.add(entry);
    inbound.attach(subscriber);
    return {
      request: (n) => inbound.request(n),
      close: () => {
        if (entry.closed) return;
        this.wire.trySend(streamPacket(STREAM_ACTIONS.cancel, id, null, this.wire.token));
        this.finish(entry);
      },
    };
  }

  /**
   * A stream open from the peer (a user action with a `stream` id). Refusals are answered on the wire
   * and reported.
   * @returns the responder for the router, or null when the stream was refused
   */
  accept(packet: Packet): StreamResponder | null {
    let open: StreamOpen | StreamControl;
    try {
      open = readStreamPacket(packet);
    } catch (err) {
      this.protocolError(err as PnetworkError);
      return null;
    }
    if (!('credit' in open)) return null;
    const id = open.stream;
    if (id % 2 === (this.evenIds ? 0 : 1) || this.entries.has(id)) {
      this.protocolError(new StreamProtocolError(`stream id ${id} is not a new id of the peer's`));
      return null;
    }
    if (this.closedWith) return null;
    if (this.openedThere >= this.settings.maxConcurrentStreams) {
      const error = new StreamLimitError(this.settings.maxConcurrentStreams);
      this.wire.trySend(streamPacket(STREAM_ACTIONS.error, id, { code: error.code, message: error.message }, this.wire.token));
      this.wire.report(error);
      return null;
    }
    const outbound = new OutboundStream(id, open.credit, this);
    const inbound = open.kind === 'channel' ? new InboundStream(id, new ReceiveCredit(0, this.settings.streamPrefetch), this) : null;
    const entry: StreamEntry = { id, mine: false, inbound, outbound, source: undefined, closed: false };
    this.add(entry);
    return {
      data: inbound ? this.channelInput(entry, inbound) : packet.data,
      serve: (result, describe) => {
        if (entry.closed) {
          discard(result);
          return;
        }
        outbound.start(result, describe);
      },
      refuse: (error) => outbound.refuse(Object.assign(new Error(error.message), { code: error.code })),
    };
  }

  /** A `stream-*` control packet. Packets for a stream that is not open are ignored (it may just have ended). */
  control(packet: Packet): void {
    let control: StreamOpen | StreamControl;
    try {
      control = readStreamPacket(packet);
    } catch (err) {
      this.protocolError(err as PnetworkError);
      return;
    }
    if (!('action' in control)) return;
    const entry = this.entries.get(control.stream);
    if (entry === undefined || entry.closed) return;
    if (entry.mine) this.toRequester(entry, control);
    else this.toResponder(entry, control);
  }

  /** Ends every stream with `error` (ConnectionClosedError); later opens fail with it. */
  closeAll(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    for (const entry of [...this.entries.values()]) {
      this.finish(entry, error);
    }
  }

  /** @internal InboundOwner: send a grant. */
  grantCredit(stream: InboundStream, n: number): void {
    if (this.wire.trySend(streamPacket(STREAM_ACTIONS.credit, stream.id, n, this.wire.token)) === null) this.wire.flush();
  }

  /** @internal InboundOwner: the receiving half failed locally. A timeout cancels; anything else is an error on the wire. */
  inboundFailed(stream: InboundStream, error: Error): void {
    const entry = this.entries.get(stream.id);
    if (entry === undefined || entry.closed) return;
    if (error instanceof StreamTimeoutError) {
      this.wire.trySend(streamPacket(STREAM_ACTIONS.cancel, stream.id, null, this.wire.token));
    } else {
      this.sendError(stream.id, error);
      if (!entry.mine && error instanceof PnetworkError) this.wire.report(error);
    }
    this.finish(entry, error);
  }

  /** @internal OutboundOwner: the sending half ended. */
  outboundEnded(stream: OutboundStream, how: OutboundEnd, error?: Error): void {
    const entry = this.byOutbound.get(stream);
    if (entry === undefined || entry.closed) return;
    if (how === 'failed' && error instanceof PnetworkError) this.wire.report(error);
    if (!entry.mine) {
      // The responder's output is the stream's life: when it ends, the stream is over.
      this.finish(entry);
      return;
    }
    // A requester's channel input: completing or being cancelled leaves the responder's output running;
    // a failure ends both.
    if (how === 'error' || how === 'failed') this.finish(entry, error);
  }

  private refuseOpen(): PnetworkError | Error | null {
    if (this.closedWith) return this.closedWith;
    if (!this.peerSupportsStreams) return new StreamsUnsupportedError();
    if (this.openedHere >= this.settings.maxConcurrentStreams) return new StreamLimitError(this.settings.maxConcurrentStreams);
    if (this.nextId > MAX_STREAM_ID) return new StreamLimitError(this.settings.maxConcurrentStreams);
    return null;
  }

  private add(entry: StreamEntry): void {
    this.entries.set(entry.id, entry);
    if (entry.outbound) this.byOutbound.set(entry.outbound, entry);
    if (entry.mine) this.openedHere++;
    else this.openedThere++;
  }

  /**
   * Ends a stream: forgets it, ends what it receives (with `error`; else quietly for a requester, whose
   * subscriber left or was told already, and with completion for a responder's channel input), and
   * stops what it sends.
   */
  private finish(entry: StreamEntry, error?: Error, leaveInbound = false, muteOutput = false): void {
    if (entry.closed) return;
    entry.closed = true;
    this.entries.delete(entry.id);
    if (entry.mine) this.openedHere--;
    else this.openedThere--;
    // The peer ended it (its cancel or error): nothing more goes out, even from a handler that answers
    // when its input ends.
    if (muteOutput) entry.outbound?.mute();
    // What it receives first: a channel's handler sees its input end before its output is unsubscribed.
    const inbound = entry.inbound;
    if (inbound !== null && !inbound.ended && !leaveInbound) {
      if (error) inbound.error(error);
      else if (entry.mine) inbound.detach();
      else inbound.complete();
    }
    if (entry.outbound) {
      this.byOutbound.delete(entry.outbound);
      entry.outbound.cancel(error);
    }
  }

  private toRequester(entry: StreamEntry, control: StreamControl): void {
    const inbound = entry.inbound!;
    switch (control.action) {
      case STREAM_ACTIONS.next:
        inbound.next(control.data);
        return;
      case STREAM_ACTIONS.complete:
        // Forget it first: the subscriber's complete handler may open the next stream.
        this.finish(entry, undefined, true);
        inbound.complete();
        return;
      case STREAM_ACTIONS.error:
        this.finish(entry, undefined, true);
        inbound.error(remoteErrorFrom(control.data, 'stream failed'));
        return;
      case STREAM_ACTIONS.credit:
        this.grantTo(entry, control.data);
        return;
      case STREAM_ACTIONS.cancel:
        // The responder wants no more of a channel's input; its output goes on.
        entry.outbound?.cancel();
        return;
    }
  }

  private toResponder(entry: StreamEntry, control: StreamControl): void {
    switch (control.action) {
      case STREAM_ACTIONS.credit:
        this.grantTo(entry, control.data);
        return;
      case STREAM_ACTIONS.cancel:
        this.finish(entry, undefined, false, true);
        return;
      case STREAM_ACTIONS.next:
        if (entry.inbound !== null) entry.inbound.next(control.data);
        else this.overrun(entry);
        return;
      case STREAM_ACTIONS.complete:
        // A request-stream's requester has no values to complete: ignored.
        entry.inbound?.complete();
        return;
      case STREAM_ACTIONS.error:
        // The requester failed: that ends both directions, and nothing is sent back.
        this.finish(entry, remoteErrorFrom(control.data, 'stream failed'), false, true);
        return;
    }
  }

  /** A value on a request-stream, where the responder granted no credit at all: ERR_STREAM_CREDIT. */
  private overrun(entry: StreamEntry): void {
    const error = new StreamCreditError(CREDIT_OVERRUN);
    this.sendError(entry.id, error);
    this.wire.report(error);
    this.finish(entry, error, false, true);
  }

  /** A grant for what this side sends on `entry`; bad credit ends the stream with ERR_STREAM_CREDIT. */
  private grantTo(entry: StreamEntry, data: unknown): void {
    const outbound = entry.outbound;
    let n: number;
    try {
      n = grantedCredit(data, outbound?.heldCredit ?? 0);
    } catch (err) {
      const error = err as StreamCreditError;
      if (entry.mine || outbound === null) {
        this.sendError(entry.id, error);
        this.finish(entry, error);
      } else {
        outbound.refuse(error);
      }
      return;
    }
    // A request-stream's requester has no values to send: a good grant to it changes nothing.
    if (outbound === null) return;
    outbound.grant(n);
    if (entry.mine && !outbound.isStarted) outbound.start(readable(entry.source));
  }

  /** The Observable a channel's handler reads the requester's values from; subscribing grants credit. */
  private channelInput(entry: StreamEntry, inbound: InboundStream): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      if (inbound.ended) {
        subscriber.complete();
        return undefined;
      }
      if (inbound.attached) {
        subscriber.error(new StreamProtocolError('a channel input can be subscribed to once'));
        return undefined;
      }
      inbound.attach(subscriber);
      inbound.request(this.settings.streamPrefetch);
      return () => {
        if (inbound.ended || entry.closed) return;
        inbound.detach();
        this.wire.trySend(streamPacket(STREAM_ACTIONS.cancel, entry.id, null, this.wire.token));
      };
    });
  }

  private sendError(id: number, error: Error): void {
    const code = (error as { code?: unknown }).code;
    this.wire.trySend(streamPacket(STREAM_ACTIONS.error, id, { code: typeof code === 'string' ? code : 'ERR_STREAM_PROTOCOL', message: error.message }, this.wire.token));
  }

  /** A stream packet that breaks the rules and names no stream it could end: an id-less error, reported. */
  private protocolError(error: PnetworkError): void {
    this.wire.trySend({ action: 'error', data: { code: error.code, message: error.message }, 'packet-created': 0, token: this.wire.token });
    this.wire.report(error);
  }
}

/** A source a requester's channel reads: Observables and AsyncIterables as they are, Iterables pulled one by one. */
function readable(source: unknown): unknown {
  if (typeof source === 'object' && source !== null && typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function' && !(Symbol.asyncIterator in source)) {
    const iterable = source as Iterable<unknown>;
    return {
      [Symbol.asyncIterator]: () => {
        const iterator = iterable[Symbol.iterator]();
        return {
          next: () => Promise.resolve(iterator.next()),
          return: () => Promise.resolve(iterator.return?.() ?? { done: true as const, value: undefined }),
        };
      },
    };
  }
  return source;
}

/** A result nobody will read: let an AsyncIterable clean up; an Observable is simply never subscribed. */
function discard(result: unknown): void {
  const iterable = result as { [Symbol.asyncIterator]?: () => AsyncIterator<unknown> } | null;
  if (typeof iterable === 'object' && iterable !== null && typeof iterable[Symbol.asyncIterator] === 'function') {
    const iterator = iterable[Symbol.asyncIterator]!();
    Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
