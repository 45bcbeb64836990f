/**
 * The default room registry: two maps in this process, room → members and member → rooms.
 * @module
 */
import type { RoomRegistry } from './room-registry.js';

const NO_ROOMS: ReadonlySet<string> = new Set();

/**
 * Rooms held in memory. Both directions are indexed, so `leaveAll` on close touches only the member's
 * own rooms and `select` only the rooms asked for.
 * @typeParam M the member type
 */
export class InMemoryRooms<M> implements RoomRegistry<M> {
  private readonly byRoom = new Map<string, Set<M>>();
  private readonly byMember = new Map<M, Set<string>>();

  /** {@inheritDoc RoomRegistry.join} */
  join(member: M, room: string): void {
    let members = this.byRoom.get(room);
    if (members === undefined) this.byRoom.set(room, (members = new Set()));
    members.add(member);
    let rooms = this.byMember.get(member);
    if (rooms === undefined) this.byMember.set(member, (rooms = new Set()));
    rooms.add(room);
  }

  /** {@inheritDoc RoomRegistry.leave} */
  leave(member: M, room: string): void {
    const rooms = this.byMember.get(member);
    if (rooms === undefined || !rooms.delete(room)) return;
    if (rooms.size === 0) this.byMember.delete(member);
    this.removeFromRoom(member, room);
  }

  /** {@inheritDoc RoomRegistry.leaveAll} */
  leaveAll(member: M): void {
    const rooms = this.byMember.get(member);
    if (rooms === undefined) return;
    this.byMember.delete(member);
    for (const room of rooms) this.removeFromRoom(member, room);
  }

  /** {@inheritDoc RoomRegistry.roomsOf} */
  roomsOf(member: M): ReadonlySet<string> {
    return this.byMember.get(member) ?? NO_ROOMS;
  }

  /** {@inheritDoc RoomRegistry.select} */
  *select(rooms: readonly string[], except: readonly string[]): Iterable<M> {
    const excluded = except.length === 0 ? null : except.map((room) => this.byRoom.get(room)).filter((set) => set !== undefined);
    // One room and nothing excluded needs no de-duplication.
    const seen = rooms.length > 1 ? new Set<M>() : null;
    for (const room of rooms) {
      const members = this.byRoom.get(room);
      if (members === undefined) continue;
      for (const member of members) {
        if (seen !== null) {
          if (seen.has(member)) continue;
          seen.add(member);
        }
        if (excluded !== null && excluded.some((set) => set.has(member))) continue;
        yield member;
      }
    }
  }

  /** {@inheritDoc RoomRegistry.counts} */
  counts(): ReadonlyMap<string, number> {
    const counts = new Map<string, number>();
    for (const [room, members] of this.byRoom) counts.set(room, members.size);
    return counts;
  }

  private removeFromRoom(member: M, room: string): void {
    const members = this.byRoom.get(room);
    if (members === undefined) return;
    members.delete(member);
    if (members.size === 0) this.byRoom.delete(room);
  }
}
