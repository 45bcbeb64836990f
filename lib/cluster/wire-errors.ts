/**
 * Errors that cross between nodes: a failure on the node holding a client travels back to the node
 * that asked and is rebuilt there as the same class, with the same code.
 * @module
 */
import { ConnectionClosedError, PnetworkError, RemoteError, RequestTimeoutError, type ErrorCode } from '../errors.js';
import type { WireError } from './messages.js';

/** The wire form of a failure on this node. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof RemoteError) return { code: error.code, message: error.message, remoteCode: error.remoteCode };
  if (error instanceof RequestTimeoutError) return { code: error.code, message: error.message, action: error.action, timeoutMs: error.timeoutMs };
  if (error instanceof PnetworkError) return { code: error.code, message: error.message };
  return { code: 'ERR_REMOTE', message: 'the node holding the client failed', remoteCode: 'ERR_REMOTE' };
}

/** The error another node described. */
export function errorFromWire(wire: WireError): PnetworkError {
  const message = String(wire.message);
  switch (wire.code) {
    case 'ERR_REMOTE':
      return new RemoteError(String(wire.remoteCode ?? 'ERR_REMOTE'), message);
    case 'ERR_CONNECTION_CLOSED':
      return new ConnectionClosedError(message);
    case 'ERR_REQUEST_TIMEOUT':
      return new RequestTimeoutError(String(wire.action ?? ''), Number(wire.timeoutMs ?? 0));
    default:
      return new PnetworkError(String(wire.code) as ErrorCode, message);
  }
}
