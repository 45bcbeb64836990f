import { filter, type OperatorFunction } from 'rxjs';
import type { Packet } from '../protocol/packet.js';

/**
 * Keeps only the packets of one action.
 *
 * ```
 * packets: --c--p--c--|     ofAction('chat')
 * result:  --c-----c--|
 * ```
 */
export function ofAction<P extends Packet, A extends string>(action: A): OperatorFunction<P, P & { action: A }> {
  return filter((packet): packet is P & { action: A } => packet.action === action);
}
