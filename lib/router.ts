/**
 * Routes incoming packets to bound handlers by action name (a Map lookup, never a scan), turns
 * handler results into replies, and exposes the packet streams.
 * @module
 */
import { Observable, Subject, Subscription, isObservable, share, take } from 'rxjs';
import { FrameTooLargeError, HandlerError, NoHandlerError, PacketError, PnetworkError, ReservedActionError, aboutConnection } from './errors.js';
import { errorForPeer } from './peer-error.js';
import { Bind } from './bind.js';
import { RESERVED_ACTIONS, type Packet } from './protocol/packet.js';
import { hasStreamFields } from './protocol/stream-packets.js';
import { isAsyncIterable } from './session/streams/outbound-stream.js';
import type { StreamResponder } from './session/streams/stream-table.js';
import type { PeerError } from './session/streams/stream-wire.js';
import type { Binding, Envelope } from './types.js';

/** What the router needs from a connection to answer a request. */
export interface Replier {
  /** The connection's public id, named by the errors reported about it. */
  readonly id: string;
  /** The peer's address, `host:port`. */
  readonly remoteAddress: string;
  /** Sends the reply to request `id`. */
  sendReply(id: number, data: unknown): Promise<void>;
  /** Sends an error reply to request `id`. */
  sendErrorReply(id: number, code: string, message: string): Promise<void>;
  /** Takes a stream open (a packet with a `stream` id): the responder to serve it, or null if refused. */
  acceptStream?(packet: Packet): StreamResponder | null;
  /**
   * Counts one handler invocation as in flight until the returned function is called; `cancel` ends it
   * if the connection closes first. Without it, nothing is counted or cancelled.
   */
  holdHandler?(cancel: () => void): () => void;
}

/** A function handler, or a `Bind` instance. */
export type Handler<C> = ((data: any, packet: Packet, connection: C) => unknown) | Bind<any, unknown, C>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One bound handler. */
interface Bound<C> {
  readonly run: (data: unknown, packet: Packet, connection: C) => unknown;
}

/**
 * Everything dispatch reads for one action sits in this one object (the hot fields first), so that a
 * server with many actions touches as little memory per packet as it can.
 */
interface Route<C> {
  hits: number;
  /** Subscribers of `stream`, counted here so dispatch need not look at the subject. */
  watchers: number;
  /** Handlers in bind order; the first one answers requests. */
  readonly handlers: Array<Bound<C>>;
  /** Made when `action$` is first subscribed; dropped each time the router completes its streams. */
  subject: Subject<Envelope<C>> | null;
  /** What `action$` returns, made on its first call (most routes are only ever bound). */
  stream: Observable<Envelope<C>> | null;
}

/** Action routing shared by Server and Client. */
export class ActionRouter<C extends Replier> {
  private readonly routes = new Map<string, Route<C>>();
  // Made on first use, as are the Observables below: a client that never subscribes holds none of them.
  private all: Subject<Envelope<C>> | null = null;
  private errors: Subject<PnetworkError> | null = null;
  private packetsView: Observable<Envelope<C>> | null = null;
  private errorsView: Observable<PnetworkError> | null = null;

  /** Every accepted packet, with its connection. Completes on {@link ActionRouter.complete}. */
  get packets$(): Observable<Envelope<C>> {
    return (this.packetsView ??= new Observable((subscriber) => (this.all ??= new Subject<Envelope<C>>()).subscribe(subscriber)));
  }

  /** Handler failures and refused packets. Never errors; completes on {@link ActionRouter.complete}. */
  get error$(): Observable<PnetworkError> {
    return (this.errorsView ??= new Observable((subscriber) => (this.errors ??= new Subject<PnetworkError>()).subscribe(subscriber)));
  }

  /** The packets of one action. */
  action$(action: string): Observable<Envelope<C>> {
    const route = this.route(action);
    return (route.stream ??= watchRoute(route));
  }

  /** Reports an error on `error$`. */
  report(error: PnetworkError): void {
    this.errors?.next(error);
  }

  /**
   * Binds a handler to an action. Its result answers requests when it is the first bound handler.
   * @throws ReservedActionError for a reserved action name
   */
  bind(action: string, handler: Handler<C>): Binding {
    if (RESERVED_ACTIONS.has(action)) throw new ReservedActionError(action);
    const route = this.route(action);
    const bound: Bound<C> = { run: handler instanceof Bind ? handler.run.bind(handler) : handler };
    route.handlers.push(bound);
    return new RouteBinding(route.handlers, bound);
  }

  /** Bound action names with how many packets each handled. */
  boundActions(): ReadonlyMap<string, number> {
    const result = new Map<string, number>();
    for (const [name, route] of this.routes) if (route.handlers.length > 0) result.set(name, route.hits);
    return result;
  }

  /** Routes one accepted packet. */
  dispatch(packet: Packet, connection: C): void {
    const route = this.routes.get(packet.action);
    const envelope: Envelope<C> = { packet, connection };
    if (hasStreamFields(packet) && connection.acceptStream) {
      this.serveStream(route, envelope, connection.acceptStream(packet));
    } else if (route !== undefined && route.handlers.length > 0) {
      route.hits++;
      // A copy, and the answering handler fixed before any runs: a handler may bind or unbind handlers
      // while it runs, and must neither change who answers nor make two of them answer.
      if (route.handlers.length === 1) {
        this.invoke(route.handlers[0]!, packet.id !== undefined, envelope);
      } else {
        const handlers = route.handlers.slice();
        const answerer = packet.id === undefined ? undefined : handlers[0];
        for (const bound of handlers) this.invoke(bound, bound === answerer, envelope);
      }
    } else if (packet.id !== undefined) {
      const error = aboutConnection(new NoHandlerError(packet.action), connection);
      this.errors?.next(error);
      this.settle(connection, connection.sendErrorReply(packet.id, error.code, error.message));
    }
    // Skipping unobserved subjects keeps the hot path to the handlers alone.
    if (route !== undefined && route.watchers > 0) route.subject!.next(envelope);
    if (this.all?.observed) this.all.next(envelope);
  }

  /**
   * Completes every stream (packets$, error$, each action$) for its current subscribers; used when the
   * owner stops. Bindings stay, and a later subscription sees the packets routed from then on, so an
   * owner that starts again keeps working.
   */
  complete(): void {
    for (const route of this.routes.values()) {
      const done = route.subject;
      route.subject = null;
      done?.complete();
    }
    const [all, errors] = [this.all, this.errors];
    this.all = null;
    this.errors = null;
    all?.complete();
    errors?.complete();
  }

  private route(action: string): Route<C> {
    let route = this.routes.get(action);
    if (route === undefined) {
      route = { hits: 0, watchers: 0, handlers: [], subject: null, stream: null };
      this.routes.set(action, route);
    }
    return route;
  }

  private invoke(bound: Bound<C>, answers: boolean, { packet, connection }: Envelope<C>): void {
    let result: unknown;
    try {
      result = bound.run(packet.data, packet, connection);
    } catch (err) {
      this.fail(packet, connection, answers, err);
      return;
    }
    if (isObservable(result)) this.follow(result, answers, packet, connection);
    else if (result instanceof Promise) this.await(result, answers, packet, connection);
    else if (isAsyncIterable(result)) this.await(this.firstItem(result, packet, connection), answers, packet, connection);
    else if (answers) this.reply(connection, packet.id!, result ?? null);
  }

  /**
   * Answers with an Observable's first value, then ends it (take(1)); its subscription also ends when the
   * connection closes. A teardown that throws when the connection ends it is reported as the handler's
   * failure; one that throws as take(1) ends it, RxJS drops, as in a local pipeline.
   */
  private follow(result: Observable<unknown>, answers: boolean, packet: Packet, connection: C): void {
    // A container first, so a cancel that comes before (or during) the subscribe still ends it.
    const subscription = new Subscription();
    const unsubscribe = (target: Subscription): void => {
      try {
        target.unsubscribe();
      } catch (err) {
        this.reportFailure(packet, connection, err);
      }
    };
    const release = connection.holdHandler?.(() => unsubscribe(subscription)) ?? noop;
    if (subscription.closed) return;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      release();
      return true;
    };
    let inner: Subscription;
    try {
      // take(1) ends the source at its first value even while it emits synchronously inside subscribe().
      inner = result.pipe(take(1)).subscribe({
        next: (value) => {
          if (settle() && answers) this.reply(connection, packet.id!, value ?? null);
        },
        error: (err: unknown) => {
          if (settle()) this.fail(packet, connection, answers, err);
          else this.reportFailure(packet, connection, err);
        },
        complete: () => {
          if (settle() && answers) this.reply(connection, packet.id!, null);
        },
      });
    } catch (err) {
      // A synchronous source whose teardown throws as it ends inside subscribe().
      if (settle()) this.fail(packet, connection, answers, err);
      else this.reportFailure(packet, connection, err);
      return;
    }
    // A synchronous source may have answered (or ended) inside subscribe(): its subscription ends now.
    if (settled || subscription.closed) unsubscribe(inner);
    else subscription.add(inner);
  }

  /** Answers with a Promise's value; once the connection has closed, a value is dropped and a failure still reported. */
  private await(result: Promise<unknown>, answers: boolean, packet: Packet, connection: C): void {
    let cancelled = false;
    const release = connection.holdHandler?.(() => (cancelled = true)) ?? noop;
    result.then(
      (value) => {
        release();
        if (answers && !cancelled) this.reply(connection, packet.id!, value ?? null);
      },
      (err: unknown) => {
        release();
        this.fail(packet, connection, answers && !cancelled, err);
      },
    );
  }

  /**
   * The first item of an AsyncIterable (undefined if it has none). The iterator is closed after it
   * without waiting: a `return()` that fails is reported, and one that never settles holds up nothing.
   */
  private async firstItem(iterable: AsyncIterable<unknown>, packet: Packet, connection: C): Promise<unknown> {
    const iterator = iterable[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) return undefined;
    try {
      if (typeof iterator.return === 'function') Promise.resolve(iterator.return()).catch((err: unknown) => this.reportFailure(packet, connection, err));
    } catch (err) {
      this.reportFailure(packet, connection, err);
    }
    return first.value;
  }

  /** A handler's failure that has no one to answer (the request is answered, or none was asked). */
  private reportFailure(packet: Packet, connection: C, cause: unknown): void {
    this.errors?.next(aboutConnection(new HandlerError(packet.action, cause), connection));
  }

  private fail(packet: Packet, connection: C, answers: boolean, cause: unknown): void {
    this.reportFailure(packet, connection, cause);
    if (!answers) return;
    // The whole error stays here; the peer gets only what is written for it (a ReplyError, say).
    const { code, message } = errorForPeer(packet.action, cause);
    this.settle(connection, connection.sendErrorReply(packet.id!, code, message));
  }

  /** Reports a handler's failure (with its connection) and says what the peer may see of it. */
  private failure(packet: Packet, connection: C, cause: unknown): PeerError {
    this.errors?.next(aboutConnection(new HandlerError(packet.action, cause), connection));
    return errorForPeer(packet.action, cause);
  }

  /**
   * A stream open: the first bound handler's result becomes the stream's values (every value of an
   * Observable or AsyncIterable; the one value of anything else). Only that handler runs.
   */
  private serveStream(route: Route<C> | undefined, { packet, connection }: Envelope<C>, responder: StreamResponder | null): void {
    if (responder === null) return;
    const bound = route?.handlers[0];
    if (bound === undefined) {
      const error = new NoHandlerError(packet.action);
      this.errors?.next(aboutConnection(error, connection));
      responder.refuse(error);
      return;
    }
    route!.hits++;
    let result: unknown;
    try {
      result = bound.run(responder.data, packet, connection);
    } catch (err) {
      responder.refuse(this.failure(packet, connection, err));
      return;
    }
    responder.serve(result, (cause) => this.failure(packet, connection, cause));
  }

  /**
   * Answers request `id` with `value`. A value that cannot be sent (larger than maxFrameBytes, not JSON)
   * is reported and answered with an error carrying that code, so the requester hears at once instead
   * of waiting for its timeout, as a stream's requester does.
   */
  private reply(connection: C, id: number, value: unknown): void {
    connection.sendReply(id, value).catch((err: unknown) => {
      if (!(err instanceof PnetworkError)) return;
      this.errors?.next(aboutConnection(err, connection));
      if (err instanceof FrameTooLargeError || err instanceof PacketError) this.settle(connection, connection.sendErrorReply(id, err.code, err.message));
    });
  }

  /** A reply that cannot be sent (the connection closed) is reported, never thrown. */
  private settle(connection: C, sending: Promise<void>): void {
    sending.catch((err: unknown) => {
      if (err instanceof PnetworkError) this.errors?.next(aboutConnection(err, connection));
    });
  }
}

function noop(): void {}

/** One action's packets as `action$` serves them: shared, and counted so that dispatch can skip the subject. */
function watchRoute<C>(route: Route<C>): Observable<Envelope<C>> {
  return new Observable<Envelope<C>>((subscriber) => {
    const subscription = (route.subject ??= new Subject<Envelope<C>>()).subscribe(subscriber);
    route.watchers++;
    return () => {
      route.watchers--;
      subscription.unsubscribe();
    };
  }).pipe(share());
}

/** What `bindAction` returns: a class, so that every binding shares one shape and holds no closures. */
class RouteBinding<C> implements Binding {
  #closed = false;

  constructor(
    private readonly handlers: Array<Bound<C>>,
    private readonly bound: Bound<C>,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  unsubscribe(): void {
    if (this.#closed) return;
    this.#closed = true;
    const index = this.handlers.indexOf(this.bound);
    if (index >= 0) this.handlers.splice(index, 1);
  }
}
