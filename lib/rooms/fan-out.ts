/**
 * Writes one packet to many connections: encoded once (see SharedPacket), each copy with its
 * recipient's token, and counted as the copies are handed to the sockets.
 * @module
 */
import type { SharedPacket } from '../protocol/shared-packet.js';

/** What a fan-out needs of each recipient (a connection). */
export interface FanOutRecipient {
  /**
   * Writes this recipient's copy: a promise that settles when it is handed to the socket (rejecting if it
   * never is), or null when the recipient refused it (closing, say).
   */
  writeShared(shared: SharedPacket): Promise<void> | null;
}

/**
 * Writes `shared` to every recipient and resolves with the number whose copy was handed to the
 * socket. A recipient that refuses its copy, or closes before it is written, is not counted; the
 * packet itself was checked when `shared` was made, so no refusal here is about the packet.
 */
export function fanOut(recipients: Iterable<FanOutRecipient>, shared: SharedPacket): Promise<number> {
  const written: Array<Promise<void>> = [];
  for (const recipient of recipients) {
    const copy = recipient.writeShared(shared);
    if (copy !== null) written.push(copy);
  }
  return countSettled(written);
}

/**
 * A whole broadcast: `shared` to `recipients` here, while `publish` (the other nodes of a cluster, or
 * null) is under way. Resolves with the local count once both are done; rejects with what `publish`
 * rejected with. Its failure is handled at once, so it never sits unhandled while copies are written.
 */
export async function broadcastShared(recipients: Iterable<FanOutRecipient>, shared: SharedPacket, publish: Promise<void> | null): Promise<number> {
  publish?.catch(() => undefined);
  const handed = await fanOut(recipients, shared);
  await publish;
  return handed;
}

/** The number of `promises` that fulfil, once all have settled; one counter instead of a result per promise. */
function countSettled(promises: ReadonlyArray<Promise<void>>): Promise<number> {
  if (promises.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    let left = promises.length;
    let fulfilled = 0;
    const onFulfilled = (): void => {
      fulfilled++;
      if (--left === 0) resolve(fulfilled);
    };
    const onRejected = (): void => {
      if (--left === 0) resolve(fulfilled);
    };
    for (const promise of promises) void promise.then(onFulfilled, onRejected);
  });
}
