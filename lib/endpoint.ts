/**
 * What Server and Client share: binding handlers to the actions the peer sends, and the packet and
 * error streams. Each side says which action map it listens to and what a connection is.
 * @module
 */
import type { Observable } from 'rxjs';
import type { PnetworkError } from './errors.js';
import type { Bind } from './bind.js';
import type { Packet } from './protocol/packet.js';
import { ActionRouter, type Handler, type Replier } from './router.js';
import type { ActionMap, ActionName, Binding, DataOf, Envelope, HandlerResult, ReplyOf } from './types.js';

/**
 * The routing half of Server and Client.
 * @typeParam L actions this side receives (and binds)
 * @typeParam K this side's connection type
 */
export abstract class Endpoint<L extends ActionMap, K> {
  /** @internal Routes incoming packets; subclasses feed it. Its connection type answers requests. */
  protected readonly router = new ActionRouter<K & Replier>();

  /** Every accepted user packet from the peer(s), with the connection it came on. */
  get packets$(): Observable<Envelope<K>> {
    return this.router.packets$;
  }
  /** Refused packets, handler failures and protocol errors. Reporting here never closes anything. */
  get error$(): Observable<PnetworkError> {
    return this.router.error$;
  }

  /**
   * Binds a handler to an action the peer sends. The handler's return value (or its Promise's or
   * Observable's first value) answers requests. Returns a handle whose `unsubscribe()` unbinds it.
   * @throws ReservedActionError for a reserved action name
   */
  bindAction<A extends ActionName<L>>(
    action: A,
    handler: ((data: DataOf<L, A>, packet: Packet<A, DataOf<L, A>>, connection: K) => HandlerResult<ReplyOf<L, A>>) | Bind<DataOf<L, A>, ReplyOf<L, A>, K>,
  ): Binding {
    return this.router.bind(action, handler as Handler<K & Replier>);
  }

  /** The packets of one action, as its handlers receive them (handlers are called directly, not through this stream). */
  action$<A extends ActionName<L>>(action: A): Observable<Envelope<K, Packet<A, DataOf<L, A>>>> {
    return this.router.action$(action) as Observable<Envelope<K, Packet<A, DataOf<L, A>>>>;
  }

  /** Bound action names with the number of packets each has handled. */
  boundActions(): ReadonlyMap<string, number> {
    return this.router.boundActions();
  }
}
