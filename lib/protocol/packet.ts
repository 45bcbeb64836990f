/**
 * The packet: the unit pnetwork exchanges, and the rules for a well-formed one.
 * @module
 */
import { PacketError, ReservedActionError, type PnetworkError } from '../errors.js';

/** Any value JSON can carry. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A decoded packet. Keys are exactly these; `id` appears only on requests and their replies. */
export interface Packet<A extends string = string, D = unknown> {
  /** What the packet asks for; routes it to handlers. 1–256 characters. */
  action: A;
  /** The payload: any JSON value. */
  data: D;
  /** When the sender created the packet, in milliseconds since the Unix epoch. */
  'packet-created': number;
  /** The recipient-side connection's secret token; null before the handshake. */
  token: string | null;
  /** Correlates a request with its reply (see docs/protocol.md). */
  id?: number;
  /** Names the stream a stream packet belongs to (see docs/protocol.md, "Streams"). */
  stream?: number;
  /** On a stream open: the credit the requester grants at the start. */
  credit?: number;
  /** On a stream open: true when the requester also sends values (a channel). */
  channel?: boolean;
}

/** Limits the validator enforces. */
export interface PacketLimits {
  /** Longest action name, in UTF-16 code units. */
  maxActionLength: number;
  /** Deepest nesting of arrays and objects allowed in `data`. */
  maxDepth: number;
}

/** Reserved action names with protocol meaning. Users can neither bind nor send them. */
export const RESERVED_ACTIONS: ReadonlySet<string> = new Set([
  'handshake',
  'error',
  'ping',
  'pong',
  'reply',
  'closing',
  'stream-next',
  'stream-complete',
  'stream-error',
  'stream-cancel',
  'stream-credit',
]);

/** Largest `stream` id and `credit` (2^31 − 1). */
const MAX_STREAM_FIELD = 2 ** 31 - 1;

/** Up to this limit the depth check recurses (fast, allocation-free); above it, it uses a stack. */
const MAX_RECURSIVE_DEPTH = 1000;

/** True for the eight packet keys (a switch: this runs for every key of every packet received). */
function isKnownKey(key: string): boolean {
  switch (key) {
    case 'action':
    case 'data':
    case 'packet-created':
    case 'token':
    case 'id':
    case 'stream':
    case 'credit':
    case 'channel':
      return true;
    default:
      return false;
  }
}

/**
 * Builds a packet stamped with the current time.
 * @param action the action name
 * @param data the payload
 * @param token the token to carry; null before the handshake
 * @param now the time to stamp, in ms since the epoch; Server and Client pass their scheduler's `now()`
 */
export function createPacket<A extends string, D>(action: A, data: D, token: string | null = null, now: number = Date.now()): Packet<A, D> {
  return { action, data, 'packet-created': now, token };
}

/**
 * Why `action` cannot be sent as a user action, or null when it can: it must be a non-empty string of
 * at most `maxActionLength` characters and not a reserved name. Senders check this so that a peer never
 * has to refuse a packet for its action.
 */
export function refuseAction(action: unknown, maxActionLength: number): PnetworkError | null {
  if (typeof action !== 'string' || action.length === 0) return new PacketError('ERR_PACKET_ACTION', 'action must be a non-empty string');
  if (action.length > maxActionLength) {
    return new PacketError('ERR_PACKET_ACTION_TOO_LONG', `action is ${action.length} characters; the limit is ${maxActionLength}`);
  }
  if (RESERVED_ACTIONS.has(action)) return new ReservedActionError(action);
  return null;
}

/**
 * Checks that `value` is a well-formed packet and returns it typed.
 * @throws PacketError with a code naming the first rule broken.
 */
export function validatePacket(value: unknown, limits: PacketLimits): Packet {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PacketError('ERR_PACKET_NOT_OBJECT', 'a packet must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!isKnownKey(key)) throw new PacketError('ERR_PACKET_UNKNOWN_KEY', `unknown packet key "${truncate(key)}"`);
  }
  const action = record.action;
  if (typeof action !== 'string' || action.length === 0) {
    throw new PacketError('ERR_PACKET_ACTION', 'action must be a non-empty string');
  }
  if (action.length > limits.maxActionLength) {
    throw new PacketError('ERR_PACKET_ACTION_TOO_LONG', `action is ${action.length} characters; the limit is ${limits.maxActionLength}`);
  }
  if (!('data' in record) || record.data === undefined) {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', 'data must be present (use null for none)');
  }
  const created = record['packet-created'];
  if (typeof created !== 'number' || !Number.isFinite(created)) {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', 'packet-created must be a finite number');
  }
  const token = record.token;
  if (token !== null && typeof token !== 'string') {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', 'token must be a string or null');
  }
  const id = record.id;
  if (id !== undefined && !(typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', 'id must be a non-negative integer');
  }
  if (record.stream !== undefined && !isWhole(record.stream, 1)) {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', `stream must be an integer from 1 to ${MAX_STREAM_FIELD}`);
  }
  if (record.credit !== undefined && !isWhole(record.credit, 0)) {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', `credit must be an integer from 0 to ${MAX_STREAM_FIELD}`);
  }
  if (record.channel !== undefined && typeof record.channel !== 'boolean') {
    throw new PacketError('ERR_PACKET_FIELD_TYPE', 'channel must be a boolean');
  }
  const tooDeep =
    limits.maxDepth <= MAX_RECURSIVE_DEPTH ? depthExceeds(record.data, limits.maxDepth) : depthExceedsIteratively(record.data, limits.maxDepth);
  if (tooDeep) {
    throw new PacketError('ERR_PACKET_TOO_DEEP', `data nests deeper than ${limits.maxDepth} levels`);
  }
  return record as unknown as Packet;
}

/**
 * True when `value` nests arrays/objects more than `remaining` levels deep. It recurses, but never deeper
 * than the limit itself (it returns as soon as the limit is passed), so hostile nesting cannot overflow
 * the stack; and it allocates nothing.
 */
function depthExceeds(value: unknown, remaining: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (remaining === 0) return true;
  if (Array.isArray(value)) {
    for (const child of value) {
      if (typeof child === 'object' && child !== null && depthExceeds(child, remaining - 1)) return true;
    }
  } else {
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null && depthExceeds(child, remaining - 1)) return true;
    }
  }
  return false;
}

/**
 * True when `value` nests arrays/objects more than `max` levels deep, as the packet check counts them;
 * with an explicit stack, so any nesting is safe to check (the same check, for limits too high to recurse to).
 * @param value any value, such as a packet's data
 * @param max the deepest nesting allowed (`maxDepth`)
 */
export function depthExceedsIteratively(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    const depth = depths.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

function isWhole(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_STREAM_FIELD;
}

function truncate(text: string): string {
  return text.length > 32 ? `${text.slice(0, 32)}…` : text;
}
