/**
 * Stream packets: the shapes docs/protocol.md ("Streams") defines, and the checks on their fields.
 * No sockets, no timers.
 * @module
 */
import { StreamCreditError, StreamProtocolError } from '../errors.js';
import type { Packet } from './packet.js';

/** Largest stream id, credit grant and outstanding credit: 2^31 − 1, as in RSocket. */
export const MAX_STREAM_CREDIT = 2 ** 31 - 1;

/** Largest stream id. */
export const MAX_STREAM_ID = 2 ** 31 - 1;

/** The reserved actions of stream control packets. */
export const STREAM_ACTIONS = Object.freeze({
  next: 'stream-next',
  complete: 'stream-complete',
  error: 'stream-error',
  cancel: 'stream-cancel',
  credit: 'stream-credit',
} as const);

/** One of the stream control actions. */
export type StreamAction = (typeof STREAM_ACTIONS)[keyof typeof STREAM_ACTIONS];

const CONTROL: ReadonlySet<string> = new Set(Object.values(STREAM_ACTIONS));

/** True for the five stream control actions. */
export function isStreamControl(action: string): action is StreamAction {
  return CONTROL.has(action);
}

/** True when a packet carries any stream field: for a user action, that makes it a stream open. */
export function hasStreamFields(packet: Packet): boolean {
  return packet.stream !== undefined || packet.credit !== undefined || packet.channel !== undefined;
}

/** Which kind of stream an open packet asks for. */
export type StreamKind = 'stream' | 'channel';

/** A checked stream open: a user action with a `stream` id and the requester's initial credit. */
export interface StreamOpen {
  readonly stream: number;
  readonly credit: number;
  readonly kind: StreamKind;
}

/** A checked stream control packet (the packet itself: control packets are read on the hot path without copying). */
export interface StreamControl {
  readonly action: StreamAction;
  readonly stream: number;
  readonly data: unknown;
}

/**
 * Reads the stream fields of a packet that has a `stream`, `credit` or `channel` key.
 * @returns the open (for a user action) or the control packet (for a `stream-*` action)
 * @throws StreamProtocolError when the fields break the rules
 */
export function readStreamPacket(packet: Packet): StreamOpen | StreamControl {
  const { stream, credit, channel } = packet;
  if (stream === undefined) throw new StreamProtocolError(`"${packet.action}" has stream fields but no "stream" id`);
  if (packet.id !== undefined) throw new StreamProtocolError('a packet cannot carry both "id" and "stream"');
  if (isStreamControl(packet.action)) {
    if (credit !== undefined || channel !== undefined) throw new StreamProtocolError(`"${packet.action}" cannot carry "credit" or "channel"`);
    return packet as StreamControl;
  }
  if (credit === undefined) throw new StreamProtocolError('a stream open must carry "credit"');
  return { stream, credit, kind: channel === true ? 'channel' : 'stream' };
}

/**
 * The credit a `stream-credit` packet grants, checked against the credit already held.
 * @throws StreamCreditError for anything but a whole number from 1 up, or a total above 2^31 − 1
 */
export function grantedCredit(data: unknown, held: number): number {
  if (typeof data !== 'number' || !Number.isInteger(data) || data < 1 || data > MAX_STREAM_CREDIT) {
    throw new StreamCreditError(`a credit grant must be a whole number from 1 to ${MAX_STREAM_CREDIT}`);
  }
  if (held + data > MAX_STREAM_CREDIT) {
    throw new StreamCreditError(`credit ${held} + ${data} would exceed ${MAX_STREAM_CREDIT}`);
  }
  return data;
}

/** A control packet on stream `stream`. `packet-created` is 0 here: the connection stamps it as it sends. */
export function streamPacket(action: string, stream: number, data: unknown, token: string): Packet {
  return { action, data, 'packet-created': 0, token, stream };
}
