/**
 * Control packets: the reserved actions a connection answers itself (reply, error, ping, pong, closing,
 * and the `stream-*` packets, which it hands to its streams),
 * and the builders for the ones it sends. One table, keyed by action, is the seam: a new control packet
 * is one more entry in {@link CONTROL_HANDLERS} (and its name in RESERVED_ACTIONS).
 * @module
 */
import { remoteErrorFrom, type PnetworkError } from '../errors.js';
import type { Packet } from '../protocol/packet.js';
import { closingReason, closingRetry } from '../protocol/closing.js';
import { STREAM_ACTIONS } from '../protocol/stream-packets.js';

/** What a control handler may do to the connection the packet arrived on. */
export interface ControlContext {
  /** The connection's token ('' before the handshake); outgoing control packets carry it. */
  readonly token: string;
  /** Settles the pending request a `reply` or `error` answers; false when none waits for that id. */
  settleRequest(packet: Packet): boolean;
  /** The connection's clock (its scheduler's `now()`), which stamps `packet-created`. */
  now(): number;
  /** Sends a control packet; a failure is the connection's own business (it is closing). */
  sendControl(packet: Packet): Promise<void>;
  /** Reports a problem to the owner (error$), without closing anything. */
  reportError(error: PnetworkError): void;
  /** The peer announced that it is closing, and why; `retry` is false when it asked not to be reconnected to. */
  peerClosing(reason: string, retry: boolean): void;
  /** A `stream-*` packet: hands it to the stream it names (see docs/protocol.md, "Streams"). */
  streamControl(packet: Packet): void;
}

/** Handles one control packet that arrived after the handshake. */
export type ControlHandler = (packet: Packet, context: ControlContext) => void;

export { closingReason, closingRetry } from '../protocol/closing.js';

/** Every control packet the connection consumes, by action. Anything else is a user packet. */
export const CONTROL_HANDLERS: ReadonlyMap<string, ControlHandler> = new Map<string, ControlHandler>([
  ['reply', (packet, context) => void context.settleRequest(packet)],
  [
    'error',
    (packet, context) => {
      // An error that answers none of our requests is the peer telling us about a packet of ours.
      if (!context.settleRequest(packet)) context.reportError(remoteErrorFrom(packet.data, 'error'));
    },
  ],
  ['ping', (packet, context) => void context.sendControl(pongPacket(packet.data, context.token, context.now())).catch(ignore)],
  ['pong', () => undefined],
  ['closing', (packet, context) => context.peerClosing(closingReason(packet.data), closingRetry(packet.data))],
  ...Object.values(STREAM_ACTIONS).map((action): [string, ControlHandler] => [action, (packet, context) => context.streamControl(packet)]),
]);

/**
 * Hands `packet` to its control handler.
 * @returns false when `packet` is not a control packet (it is the user's)
 */
export function handleControlPacket(packet: Packet, context: ControlContext): boolean {
  const handler = CONTROL_HANDLERS.get(packet.action);
  if (handler === undefined) return false;
  handler(packet, context);
  return true;
}

/** A `ping`; its data comes back unchanged in the `pong`. */
export function pingPacket(token: string | null, now: number): Packet {
  return { action: 'ping', data: null, 'packet-created': now, token };
}

/** The `pong` answering a ping that carried `data`. */
export function pongPacket(data: unknown, token: string | null, now: number): Packet {
  return { action: 'pong', data, 'packet-created': now, token };
}

/** The `closing` packet a side sends before it ends its socket; `retry: false` asks the peer not to reconnect. */
export function closingPacket(reason: string, token: string | null, now: number, retry = true): Packet {
  return { action: 'closing', data: retry ? { reason } : { reason, retry: false }, 'packet-created': now, token };
}

/**
 * An `error` packet; with `id` it answers that request, without it it reports on the connection. Every
 * builder here stamps `packet-created` with `now`: the connection passes its scheduler's clock.
 */
export function errorPacket(code: string, message: string, token: string | null, id: number | undefined, now: number): Packet {
  const packet: Packet = { action: 'error', data: { code, message }, 'packet-created': now, token };
  if (id !== undefined) packet.id = id;
  return packet;
}

/**
 * The `error` packet sent before closing because of `error`. It carries `retry: false` when the error
 * says the peer should not try again (a handshake refused by the server's middleware).
 */
export function fatalErrorPacket(error: PnetworkError, token: string | null, now: number): Packet {
  // Without a token it is the connection's first frame, which the peer holds to maxHandshakeBytes.
  const message = token === null ? shortened(error.message, MAX_REFUSAL_MESSAGE) : error.message;
  const packet = errorPacket(shortened(error.code, MAX_REFUSAL_CODE), message, token, undefined, now);
  if ((error as { retry?: unknown }).retry === false) (packet.data as { retry?: boolean }).retry = false;
  return packet;
}

/**
 * The id an `error` packet refusing `packet` may echo: a request's id, never the id of a reply or error
 * (that id belongs to one of our own requests, and echoing it would settle one of the peer's).
 */
export function refusedPacketId(packet: Packet | undefined): number | undefined {
  return packet && packet.action !== 'reply' && packet.action !== 'error' ? packet.id : undefined;
}

/** Longest message, in UTF-16 units, of an error packet sent before the handshake (a refusal). */
export const MAX_REFUSAL_MESSAGE = 1_024;
/** Longest code of an error packet that closes a connection. */
export const MAX_REFUSAL_CODE = 128;

/** `text` cut to `max` units, ending in an ellipsis when cut; a surrogate pair is never split. */
function shortened(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (/[\ud800-\udbff]/.test(text[end - 1] ?? '')) end--;
  return `${text.slice(0, end)}…`;
}

function ignore(): void {}
