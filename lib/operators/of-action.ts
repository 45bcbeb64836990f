import { filter, type OperatorFunction } from 'rxjs';
import type { Packet } from '../protocol/packet.js';

/** A packet narrowed to one action name. */
export interface ActionNamed<A extends string> {
  /** The action name. */
  action: A;
}

/**
 * Keeps only the packets of one action.
 *
 * ```
 * packets: --c--p--c--|     ofAction('chat')
 * result:  --c-----c--|
 * ```
 */
export function ofAction<P extends Packet, A extends string>(action: A): OperatorFunction<P, P & ActionNamed<A>> {
  return filter((packet): packet is P & ActionNamed<A> => packet.action === action);
}
