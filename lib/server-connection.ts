/**
 * A connection as the server sees it: a {@link Connection} plus what applications keep per client:
 * the handshake's `auth`, their own `data`, a display `subject`, and room membership.
 * @module
 */
import type { Socket } from 'node:net';
import { Connection, type ConnectionHooks, type ConnectionSettings } from './connection.js';
import type { HandshakeRules } from './operators/handshake.js';
import { checkRoomName, type RoomRegistry } from './rooms/room-registry.js';
import type { ActionMap, AnyActions } from './types.js';

/** The default type of `connection.data`: any keys, any values, as in socket.io's `socket.data`. */
export type AnyData = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * One client's connection on the server: `server.clients`, `connection$` and handlers receive these.
 * @typeParam In actions the client sends
 * @typeParam Out actions the server sends
 * @typeParam Data the type of {@link ServerConnection.data}
 * @typeParam Auth the type the application expects the handshake's `auth` to have (checked by middleware)
 */
export class ServerConnection<In extends ActionMap = AnyActions, Out extends ActionMap = AnyActions, Data extends object = AnyData, Auth = unknown> extends Connection<In, Out> {
  /** The application's own state for this connection, kept for its life. Starts as `{}`. Never sent anywhere. */
  data: Data = {} as Data;
  /**
   * Who is on the other end, as the application names it (a user name, say), set typically by a
   * middleware once `auth` checks out. The console shows it; never put a credential here.
   */
  subject: string | undefined = undefined;
  // Private fields: a secret that util.inspect, JSON.stringify and enumeration do not show.
  #auth: Auth | undefined = undefined;
  #admitted = false;
  /** Rooms joined before admission, entered once the connection is registered. */
  #pendingRooms: Set<string> | null = null;
  readonly #registry: RoomRegistry<ServerConnection<In, Out, Data, Auth>>;

  /** @internal Created by Server. */
  constructor(
    socket: Socket,
    settings: ConnectionSettings,
    handshake: HandshakeRules<ServerConnection<In, Out, Data, Auth>>,
    hooks: ConnectionHooks<Connection<In, Out>>,
    registry: RoomRegistry<ServerConnection<In, Out, Data, Auth>>,
  ) {
    super(socket, settings, handshake, hooks);
    this.#registry = registry;
  }

  /**
   * The `auth` value the client sent in its handshake (undefined when it sent none). Unchecked: a
   * middleware should validate it. The server never sends it to anyone, and the console never shows it.
   */
  get auth(): Auth | undefined {
    return this.#auth;
  }

  /** The rooms this connection is in. */
  get rooms(): ReadonlySet<string> {
    return this.#admitted ? this.#registry.roomsOf(this) : (this.#pendingRooms ?? EMPTY);
  }

  /**
   * Puts this connection in `room`. Idempotent. Allowed in middleware too: the connection then enters
   * the room once it is admitted. Does nothing once the connection is closing (it has left every room).
   * @throws TypeError for a room name that is not a non-empty string
   */
  join(room: string): void {
    checkRoomName(room);
    if (this.isClosed) return;
    if (this.#admitted) this.#registry.join(this, room);
    else (this.#pendingRooms ??= new Set()).add(room);
  }

  /**
   * Takes this connection out of `room`. Idempotent.
   * @throws TypeError for a room name that is not a non-empty string
   */
  leave(room: string): void {
    checkRoomName(room);
    if (this.#admitted) this.#registry.leave(this, room);
    else this.#pendingRooms?.delete(room);
  }

  /** @internal The server's call: the handshake's `auth`, before middleware runs. */
  setAuth(auth: Auth | undefined): void {
    this.#auth = auth;
  }

  /** @internal The server's call once middleware accepted: rooms joined so far take effect. */
  admit(): void {
    this.#admitted = true;
    if (this.#pendingRooms === null) return;
    for (const room of this.#pendingRooms) this.#registry.join(this, room);
    this.#pendingRooms = null;
  }

  /** @internal The server's call on close: out of every room. */
  leaveAllRooms(): void {
    this.#pendingRooms = null;
    this.#registry.leaveAll(this);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
