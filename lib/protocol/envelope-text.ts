/**
 * The JSON text of a packet the library builds itself, put together around `JSON.stringify(data)` from
 * cached pieces: the same text `JSON.stringify(packet)` gives for the packet with its fields in order,
 * without building the packet object or serialising its action and token every time.
 * @module
 */

/**
 * `{"action":…,"data":` per action; cleared when full, so generated names cannot grow it without bound.
 * Room for more actions than an application sends in turn (the dispatch bench cycles through 1,000: with
 * room for 512, every packet missed the cache and the case ran at 0.78x of one action).
 */
const heads = new Map<string, string>();
const MAX_HEADS = 4096;

function headOf(action: string): string {
  let head = heads.get(action);
  if (head === undefined) {
    if (heads.size >= MAX_HEADS) heads.clear();
    head = `{"action":${JSON.stringify(action)},"data":`;
    heads.set(action, head);
  }
  return head;
}

/** The text after `"packet-created":…` for a token: `,"token":"…"` (without the closing brace). */
export function tokenField(token: string): string {
  return `,"token":${JSON.stringify(token)}`;
}

/**
 * The text of `{ action, data, 'packet-created': createdAt, token }`, exactly as `JSON.stringify` writes
 * that object, followed by `after` (the text of further fields, such as `,"id":7`) and the closing brace.
 * @param token what {@link tokenField} made of the token
 * @returns the text, or undefined when `data` has no JSON text of its own (a function, `undefined`,
 * a `toJSON` that returns nothing) or the time is not finite: the caller encodes the packet object then,
 * so that what such a packet looks like on the wire does not change
 * @throws whatever `JSON.stringify(data)` throws (a cycle, a BigInt)
 */
export function envelopeText(action: string, data: unknown, createdAt: number, token: string, after = ''): string | undefined {
  const text = JSON.stringify(data);
  if (text === undefined || !Number.isFinite(createdAt)) return undefined;
  return headOf(action) + text + ',"packet-created":' + createdAt + token + after + '}';
}
