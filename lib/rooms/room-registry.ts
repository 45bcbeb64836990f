/**
 * Who is in which room. The server keeps its rooms behind this interface so that a registry shared by
 * several server processes can replace the in-memory one without changing `connection.join()` or
 * `server.to()`.
 * @module
 */

/**
 * A room registry: members (connections) grouped under room names.
 *
 * The contract, which every implementation keeps:
 * - `join` and `leave` are idempotent and take effect before they return: a `select` right after sees them.
 * - `leaveAll` removes a member from every room; the server calls it once when the connection closes.
 * - A room exists while it has members: the last `leave` removes it from `counts()`.
 * - `select` yields each member at most once, in no promised order.
 * - Room names are non-empty strings; callers check them (see {@link checkRoomName}).
 *
 * A registry spanning processes still answers `select` with local members only; delivering to members
 * held by other processes is the job of the layer that owns the cross-process channel.
 * @typeParam M the member type (the server's connection type)
 */
export interface RoomRegistry<M> {
  /** Puts `member` in `room`. */
  join(member: M, room: string): void;
  /** Takes `member` out of `room`. */
  leave(member: M, room: string): void;
  /** Takes `member` out of every room. */
  leaveAll(member: M): void;
  /** The rooms `member` is in (empty when none). */
  roomsOf(member: M): ReadonlySet<string>;
  /** Every member in at least one of `rooms` and in none of `except`, each once. */
  select(rooms: readonly string[], except: readonly string[]): Iterable<M>;
  /** Every room with its number of members. */
  counts(): ReadonlyMap<string, number>;
}

/**
 * Checks a room name: a non-empty string.
 * @throws TypeError naming the bad value
 */
export function checkRoomName(room: unknown): string {
  if (typeof room !== 'string' || room.length === 0) {
    throw new TypeError(`a room name must be a non-empty string, got ${typeof room === 'string' ? '""' : typeof room}`);
  }
  return room;
}
