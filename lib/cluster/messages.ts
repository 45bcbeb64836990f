/**
 * The messages nodes exchange through an adapter, and their JSON form. Tokens never appear in them:
 * a client is named by its public connection id, and each node fills in its own clients' tokens.
 * @module
 */

/** One client as the cluster lists it. */
export interface ClusterClient {
  /** The connection's public id (never its token). */
  readonly id: string;
  /** The node the client is connected to. */
  readonly node: string;
  /** The client's address, `host:port`. */
  readonly address: string;
  /** The rooms it is in. */
  readonly rooms: readonly string[];
  /** When it connected, in ms since the epoch. */
  readonly connectedAt: number;
}

/** What a node says about itself in each heartbeat. */
export interface NodeInfo {
  /** The address its server listens on, `host:port`. */
  readonly address: string;
  /** Clients connected to it now. */
  readonly clients: number;
  /** When it joined the cluster, in ms since the epoch. */
  readonly startedAt: number;
}

/** An error as it travels back to the node that asked. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  /** For ERR_REMOTE: the client's own code. */
  readonly remoteCode?: string;
  /** For ERR_REQUEST_TIMEOUT: the request's action and timeout. */
  readonly action?: string;
  readonly timeoutMs?: number;
}

/** Every message on the cluster's channels; `from` is the sending node. */
export type ClusterMessage =
  /** I am alive (periodic, and in answer to `hello`). */
  | { readonly t: 'hb'; readonly from: string; readonly info: NodeInfo }
  /** I have just joined: everybody, say who you are. */
  | { readonly t: 'hello'; readonly from: string; readonly info: NodeInfo }
  /** I am leaving. */
  | { readonly t: 'bye'; readonly from: string }
  /** Deliver to your clients in `rooms` (all when null) and in none of `except`. */
  | { readonly t: 'bc'; readonly from: string; readonly action: string; readonly data: unknown; readonly rooms: readonly string[] | null; readonly except: readonly string[] }
  /** Send to client `to` if it is yours, and answer `rid`. */
  | { readonly t: 'send'; readonly from: string; readonly rid: number; readonly to: string; readonly action: string; readonly data: unknown }
  /** Send a request to client `to` if it is yours, and answer `rid` with its reply. */
  | { readonly t: 'req'; readonly from: string; readonly rid: number; readonly to: string; readonly action: string; readonly data: unknown; readonly timeoutMs: number }
  /** List your clients in answer to `rid`. */
  | { readonly t: 'list'; readonly from: string; readonly rid: number }
  /** The answer to `rid`: `found` false when the client is not on this node. */
  | { readonly t: 'res'; readonly from: string; readonly rid: number; readonly found: boolean; readonly value?: unknown; readonly error?: WireError };

const TYPES: ReadonlySet<string> = new Set(['hb', 'hello', 'bye', 'bc', 'send', 'req', 'list', 'res']);

/**
 * Parses a message from the bus, or returns null for anything that is not one of ours (another
 * program on the same channel, a newer version): such messages are skipped, never thrown on.
 */
export function parseClusterMessage(text: string): ClusterMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  if (typeof message.t !== 'string' || !TYPES.has(message.t) || typeof message.from !== 'string') return null;
  return wellFormed(message) ? (value as ClusterMessage) : null;
}

const isText = (value: unknown): value is string => typeof value === 'string';
const isTexts = (value: unknown): boolean => Array.isArray(value) && value.every(isText);
const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isTime = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;

function isInfo(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const info = value as Record<string, unknown>;
  return isText(info.address) && isCount(info.clients) && isTime(info.startedAt);
}

function isWireError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const error = value as Record<string, unknown>;
  return isText(error.code) && isText(error.message) && (error.remoteCode === undefined || isText(error.remoteCode)) && (error.action === undefined || isText(error.action)) && (error.timeoutMs === undefined || isTime(error.timeoutMs));
}

/** Every field a message of its type carries, with its type: what the node reads from it cannot throw. */
function wellFormed(message: Record<string, unknown>): boolean {
  switch (message.t) {
    case 'hb':
    case 'hello':
      return isInfo(message.info);
    case 'bye':
      return true;
    case 'bc':
      return isText(message.action) && (message.rooms === null || isTexts(message.rooms)) && isTexts(message.except);
    case 'send':
      return isCount(message.rid) && isText(message.to) && isText(message.action);
    case 'req':
      return isCount(message.rid) && isText(message.to) && isText(message.action) && isTime(message.timeoutMs);
    case 'list':
      return isCount(message.rid);
    case 'res':
      return isCount(message.rid) && typeof message.found === 'boolean' && (message.error === undefined || isWireError(message.error));
    default:
      return false;
  }
}
