/**
 * Turning a socket away before any pipeline runs on it: one `error` frame, a FIN, and a forced close if
 * the peer lingers. Costs no Connection, so a flood of refused sockets stays cheap.
 * @module
 */
import type { Socket } from 'node:net';
import type { SchedulerLike } from 'rxjs';
import type { PnetworkError } from '../errors.js';
import { isTextCodec, type Codec } from '../protocol/codec.js';
import { encodeFrame, encodeTextFrame } from '../protocol/frame.js';
import { errorPacket } from '../session/control-packets.js';

/**
 * Sends `error` as an error packet (no token: there is no handshake), ends the socket, destroys it after
 * `closeTimeoutMs`. `seal`, when given, turns the frame into what the peer reads (a secure-channel record).
 */
export function refuseSocket(socket: Socket, error: PnetworkError, codec: Codec, closeTimeoutMs: number, scheduler: SchedulerLike, seal?: (frame: Buffer) => Buffer): void {
  socket.on('error', ignore);
  const packet = errorPacket(error.code, error.message, null, undefined, scheduler.now());
  const frame = isTextCodec(codec) ? encodeTextFrame(codec.encodeText(packet)) : encodeFrame(codec.encode(packet));
  socket.end(seal ? seal(frame) : frame);
  // Read and drop whatever the peer sends, so that its FIN is seen and the socket closes.
  socket.resume();
  const timer = scheduler.schedule(() => socket.destroy(), closeTimeoutMs);
  socket.once('close', () => timer.unsubscribe());
}

function ignore(): void {}
