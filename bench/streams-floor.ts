/**
 * The stream benchmark's floor: the cheapest honest node:net version of the same job, so that the cost
 * of the credit window itself is measured apart from pnetwork's. Framing is the node:net floors'
 * (systems/net-framing.ts: 4-byte length, UTF-8 JSON, writes coalesced per tick); messages are the
 * cheapest `{ action, data }`. One-way: the client sends `sink` values; `done` answers with the totals.
 * A stream: the client sends `feed` with its initial credit, the server writes `next` values in a
 * plain loop while it holds credit (flushed every {@link FLUSH_EVERY}), and the client grants `credit`
 * as pnetwork's requester does (three quarters of the window at a time), written at once.
 * @module
 */
import net from 'node:net';
import { Writer, encodeFrame, frameReader } from './systems/net-framing.js';

const HOST = '127.0.0.1';
/**
 * Values after which the floor's server hands what it wrote to the socket, as pnetwork's responder does
 * every 32: with the default window the client then reads a burst while the rest is produced. 64 (a
 * quarter of the window, so the value after which the client grants ends a write) was the floor's best in
 * a driver on this machine (its stream at window 256: 0.45x of its one-way writing once per tick, 0.74x
 * every 32, 0.79x every 64, 0.78x every 96; one run of 4 rounds each).
 */
const FLUSH_EVERY = 64;

interface FloorMessage {
  action: string;
  data?: unknown;
}

interface FeedRequest {
  count: number;
  size: number;
  credit: number;
}

const frameOf = (action: string, data: unknown): Buffer => encodeFrame(JSON.stringify({ action, data }));

/** Starts the floor's server on 127.0.0.1, port 0; resolves with the port. */
export function startFloorServer(): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const writer = new Writer(socket);
    let count = 0;
    let seqSum = 0;
    // The one stream this connection serves at a time.
    let feed: { next: number; count: number; body: string; credit: number } | null = null;
    const produce = (): void => {
      if (feed === null) return;
      while (feed.credit > 0 && feed.next < feed.count) {
        feed.credit--;
        writer.write(frameOf('next', { seq: feed.next++, body: feed.body }));
        if (feed.next % FLUSH_EVERY === 0) writer.flush();
      }
      if (feed.next === feed.count) {
        writer.write(frameOf('complete', null));
        feed = null;
      }
    };
    socket.on('error', () => socket.destroy());
    socket.on(
      'data',
      frameReader(
        (text) => {
          const message = JSON.parse(text) as FloorMessage;
          if (message.action === 'sink') {
            count++;
            seqSum += (message.data as { seq: number }).seq;
          } else if (message.action === 'done') {
            writer.write(frameOf('totals', { count, seqSum }));
            count = 0;
            seqSum = 0;
          } else if (message.action === 'feed') {
            const { count: n, size, credit } = message.data as FeedRequest;
            feed = { next: 0, count: n, body: 'x'.repeat(size), credit };
            produce();
          } else if (message.action === 'credit' && feed !== null) {
            feed.credit += message.data as number;
            produce();
          }
        },
        () => socket.destroy(),
      ),
    );
  });
  return new Promise((resolve) => server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port)));
}

/** The floor's client: one connection, one thing at a time. */
export interface FloorClient {
  /** Sends `count` values one way, waiting for 'drain' when the socket is full; values per second. */
  oneWay(count: number, size: number): Promise<number>;
  /** Reads a stream of `count` values with a window of `prefetch`; values per second. */
  stream(count: number, size: number, prefetch: number): Promise<number>;
  close(): void;
}

/** Connects the floor's client to `port`. */
export async function floorClient(port: number): Promise<FloorClient> {
  const socket = net.connect({ host: HOST, port, noDelay: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const writer = new Writer(socket);
  let onMessage: (message: FloorMessage) => void = () => undefined;
  socket.on('data', frameReader((text) => onMessage(JSON.parse(text) as FloorMessage), (error) => socket.destroy(error)));
  const drained = (): Promise<void> => new Promise((resolve) => socket.once('drain', () => resolve()));
  return {
    async oneWay(count, size) {
      const body = 'x'.repeat(size);
      const totals = new Promise<{ count: number; seqSum: number }>((resolve) => {
        onMessage = (message) => {
          if (message.action === 'totals') resolve(message.data as { count: number; seqSum: number });
        };
      });
      const start = performance.now();
      for (let seq = 0; seq < count; seq++) {
        if (!writer.write(frameOf('sink', { seq, body }))) {
          writer.flush();
          await drained();
        }
      }
      writer.write(frameOf('done', null));
      const got = await totals;
      const seconds = (performance.now() - start) / 1000;
      if (got.count !== count || got.seqSum !== (count * (count - 1)) / 2) throw new Error(`floor one-way: server counted ${got.count} of ${count}`);
      return count / seconds;
    },
    stream(count, size, prefetch) {
      const refillAt = prefetch - Math.floor(prefetch / 4);
      return new Promise((resolve, reject) => {
        let next = 0;
        let sinceGrant = 0;
        const start = performance.now();
        onMessage = (message) => {
          if (message.action === 'next') {
            const value = message.data as { seq: number; body: string };
            if (value.seq !== next++ || value.body.length !== size) reject(new Error(`floor value ${value.seq} out of order`));
            if (++sinceGrant === refillAt) {
              sinceGrant = 0;
              writer.write(frameOf('credit', refillAt));
              writer.flush();
            }
          } else if (message.action === 'complete') {
            if (next !== count) reject(new Error(`floor stream ended after ${next} of ${count}`));
            else resolve(count / ((performance.now() - start) / 1000));
          }
        };
        writer.write(frameOf('feed', { count, size, credit: prefetch }));
        writer.flush();
      });
    },
    close() {
      socket.destroy();
    },
  };
}
