/**
 * Which part of a handler's failure the peer may see. A peer is untrusted: only errors written for it
 * cross the wire with their own code and message; everything else becomes a generic `ERR_HANDLER`, and
 * the full error stays on the local `error$`.
 * @module
 */
import { PnetworkError, ReplyError, type ErrorCode } from './errors.js';

/**
 * Codes of errors that describe the peer's own packet, so their message tells it nothing of ours.
 * Internal failures (timeouts, closed connections, an upstream's RemoteError, a HandlerError) are not here.
 */
const PEER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_FRAME_TOO_LARGE',
  'ERR_FRAME_TIMEOUT',
  'ERR_RATE_LIMITED',
  'ERR_PACKET_NOT_OBJECT',
  'ERR_PACKET_ACTION',
  'ERR_PACKET_ACTION_TOO_LONG',
  'ERR_PACKET_FIELD_TYPE',
  'ERR_PACKET_UNKNOWN_KEY',
  'ERR_PACKET_UTF8',
  'ERR_PACKET_JSON',
  'ERR_PACKET_TOO_DEEP',
  'ERR_TOKEN_MISMATCH',
  'ERR_RESERVED_ACTION',
  'ERR_NO_HANDLER',
]);

/** The code and message sent to the peer for what a handler of `action` threw. */
export function errorForPeer(action: string, thrown: unknown): { code: string; message: string } {
  if (thrown instanceof ReplyError) return { code: thrown.code, message: thrown.message };
  if (thrown instanceof PnetworkError && PEER_CODES.has(thrown.code)) return { code: thrown.code, message: thrown.message };
  return { code: 'ERR_HANDLER', message: `handler for "${action}" failed` };
}
