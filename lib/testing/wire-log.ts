/**
 * What crossed an in-memory network, packet by packet, with the virtual time each was written at: the
 * record a test asserts on, as plain arrays or replayed as marbles.
 * @module
 */
import { Observable, type SchedulerLike, asyncScheduler } from 'rxjs';
import { FrameDecoder, MAX_DECLARABLE_LENGTH } from '../protocol/frame.js';
import type { Packet } from '../protocol/packet.js';

/** Which side wrote a packet. */
export type WireSide = 'server' | 'client';

/** One packet as it crossed the wire. */
export interface WirePacket {
  /** The virtual time it was written at, in ms. */
  readonly frame: number;
  /** The side that wrote it. */
  readonly from: WireSide;
  /** The connection it travelled on: the client end's port, the same for both directions. */
  readonly connection: number;
  /** The decoded packet; frames that are not JSON (sealed records) are kept as `raw` instead. */
  readonly packet: Packet | null;
  /** The frame's payload, when it did not decode as JSON. */
  readonly raw?: Uint8Array;
}

/** Filters for {@link WireLog.packets}. */
export interface WireFilter {
  /** Only packets this side wrote. */
  readonly from?: WireSide;
  /** Only packets on this connection (a client's `connection` number, see {@link WirePacket}). */
  readonly connection?: number;
  /** Leave out the protocol's own traffic: handshake, ping, pong. @defaultValue false */
  readonly withoutProtocol?: boolean;
}

const PROTOCOL_ACTIONS: ReadonlySet<string> = new Set(['handshake', 'ping', 'pong']);

/** Records every frame written on a network, decoded to packets. */
export class WireLog {
  private readonly log: WirePacket[] = [];
  private readonly decoders = new Map<string, FrameDecoder>();

  /** @param now the virtual clock to stamp packets with */
  constructor(private readonly now: () => number) {}

  /** @internal The transport's tap: `chunk` was written by `from` on `connection`. */
  record(from: WireSide, connection: number, chunk: Uint8Array): void {
    const key = `${from}:${connection}`;
    let decoder = this.decoders.get(key);
    if (decoder === undefined) {
      decoder = new FrameDecoder(MAX_DECLARABLE_LENGTH);
      this.decoders.set(key, decoder);
    }
    const frame = this.now();
    try {
      decoder.push(chunk, (payload) => this.log.push({ frame, from, connection, ...decodeJson(payload) }));
    } catch {
      // A frame too long to be one of ours: a test that writes garbage on purpose. Nothing to record.
    }
  }

  /** The packets recorded so far, oldest first, optionally filtered. */
  packets(filter: WireFilter = {}): WirePacket[] {
    return this.log.filter(
      (entry) =>
        (filter.from === undefined || entry.from === filter.from) &&
        (filter.connection === undefined || entry.connection === filter.connection) &&
        !(filter.withoutProtocol && entry.packet !== null && PROTOCOL_ACTIONS.has(entry.packet.action)),
    );
  }

  /** The action names of the packets a filter selects, in order: the shortest useful assertion. */
  actions(filter: WireFilter = {}): string[] {
    return this.packets(filter).map((entry) => entry.packet?.action ?? '<raw>');
  }

  /**
   * The recorded packets as an Observable that emits each at the frame it was recorded at, relative to
   * `since`. Inside `TestScheduler.run()`, `expectObservable(wire.replay(...)).toBe('--a--b', …)` then
   * checks what was sent, and when, as marbles.
   * @param filter which packets
   * @param project what each emission is (default: the packet)
   * @param since virtual time that maps to frame 0 of the marbles (default 0)
   * @param scheduler schedules the replay (default: asyncScheduler, which `run()` makes virtual)
   */
  replay<T = Packet | null>(filter: WireFilter = {}, project: (entry: WirePacket) => T = (entry) => entry.packet as T, since = 0, scheduler: SchedulerLike = asyncScheduler): Observable<T> {
    const entries = this.packets(filter).filter((entry) => entry.frame >= since);
    return new Observable<T>((subscriber) => {
      const start = scheduler.now();
      let index = 0;
      const emitDue = (): void => {
        while (index < entries.length && entries[index]!.frame - since <= scheduler.now() - start) subscriber.next(project(entries[index++]!));
        if (index === entries.length) subscriber.complete();
        else subscriber.add(scheduler.schedule(emitDue, entries[index]!.frame - since - (scheduler.now() - start)));
      };
      emitDue();
    });
  }
}

function decodeJson(payload: Uint8Array): { packet: Packet | null; raw?: Uint8Array } {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
    if (typeof value === 'object' && value !== null && typeof (value as { action?: unknown }).action === 'string') return { packet: value as Packet };
  } catch {
    // not JSON: fall through
  }
  return { packet: null, raw: Uint8Array.from(payload) };
}
