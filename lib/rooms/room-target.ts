/**
 * What `server.to(room)` returns: a set of rooms, minus some, that a packet can be broadcast to.
 * @module
 */
import type { ActionMap, ActionName, AnyActions, DataOf } from '../types.js';
import { checkRoomName, type RoomRegistry } from './room-registry.js';
import type { SharedPacket } from '../protocol/shared-packet.js';
import { reportIfUnhandled, type UnhandledReporter } from '../unhandled-failure.js';

/** How a target reaches members: the registry, the packet encoded once, its fan-out, and the checks a packet must pass first. */
export interface RoomDelivery<M> {
  /** Where the members are looked up. */
  readonly registry: RoomRegistry<M>;
  /**
   * The packet for every member, checked and encoded once.
   * @throws PacketError or FrameTooLargeError when no member could be sent it
   */
  prepare(action: string, data: unknown): SharedPacket;
  /**
   * Writes the packet to each member while `publish` (to the other nodes, or null) is under way;
   * resolves with how many members it was handed to, rejects with what `publish` rejected with.
   */
  broadcast(members: Iterable<M>, shared: SharedPacket, publish: Promise<void> | null): Promise<number>;
  /** Why `action` cannot be sent at all (a reserved name, say), or null when it can. */
  refuse(action: string): Error | null;
  /**
   * Tells the other processes of a cluster to deliver to their own members of the same rooms; rejects
   * when they could not be told. Absent for a single process; null when there is no one to tell now.
   */
  publish?(action: string, data: unknown, rooms: readonly string[], except: readonly string[]): Promise<void> | null;
  /** Hears what a broadcast nobody awaited failed with. */
  readonly reporter: UnhandledReporter;
}

/**
 * The members of some rooms, minus the members of others. Immutable: `to` and `except` return a new
 * target, so one can be kept and reused.
 * @typeParam M the member type
 * @typeParam Out the actions members receive
 * @example
 * await server.to('lobby').except('muted').broadcast('chat', { text: 'hi' });
 */
export class RoomTarget<M, Out extends ActionMap = AnyActions> {
  /** @internal Made by `server.to()`. */
  constructor(
    private readonly delivery: RoomDelivery<M>,
    /** The rooms whose members are included. */
    readonly rooms: readonly string[],
    /** The rooms whose members are left out, even when also in an included room. */
    readonly excluded: readonly string[] = [],
  ) {}

  /**
   * A wider target: these rooms' members too.
   * @throws TypeError for a room name that is not a non-empty string
   */
  to(room: string, ...rooms: string[]): RoomTarget<M, Out> {
    return new RoomTarget(this.delivery, [...this.rooms, ...[room, ...rooms].map(checkRoomName)], this.excluded);
  }

  /**
   * A narrower target: without the members of these rooms.
   * @throws TypeError for a room name that is not a non-empty string
   */
  except(room: string, ...rooms: string[]): RoomTarget<M, Out> {
    return new RoomTarget(this.delivery, this.rooms, [...this.excluded, ...[room, ...rooms].map(checkRoomName)]);
  }

  /** The members this target reaches now, each once. */
  members(): M[] {
    return [...this.delivery.registry.select(this.rooms, this.excluded)];
  }

  /**
   * Sends one packet to every member of the target, each with its own token. Resolves with the number
   * of members **of this process** it was handed to; a member whose send fails (it is closing, say) is
   * not counted. In a cluster, the other nodes deliver to their own members of the same rooms.
   * @throws (rejects) ReservedActionError or PacketError when the action cannot be sent to anyone;
   * PublishError when the other nodes of a cluster could not be told
   */
  broadcast<A extends ActionName<Out>>(action: A, data: DataOf<Out, A>): Promise<number> {
    // A broadcast nobody awaits must neither crash the process nor fail in silence.
    return reportIfUnhandled(this.broadcastNow(action, data), this.delivery.reporter);
  }

  private async broadcastNow(action: string, data: unknown): Promise<number> {
    const refused = this.delivery.refuse(action);
    if (refused) throw refused;
    const shared = this.delivery.prepare(action, data);
    const remote = this.delivery.publish?.(action, data, this.rooms, this.excluded) ?? null;
    return this.delivery.broadcast(this.delivery.registry.select(this.rooms, this.excluded), shared, remote);
  }
}
