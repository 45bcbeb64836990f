import type { SchedulerLike } from 'rxjs';
import type { PnetworkError } from '../../lib/errors.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { STREAM_ACTIONS, isStreamControl, streamPacket } from '../../lib/protocol/stream-packets.js';
import { StreamTable, type StreamResponder } from '../../lib/session/streams/stream-table.js';
import type { StreamSettings, StreamWire } from '../../lib/session/streams/stream-wire.js';

/** A handler for the responder side: gets the open's data (or a channel's input Observable). */
export type PairHandler = (data: unknown) => unknown;

/** One side of an in-memory stream link. */
export interface PairSide {
  readonly table: StreamTable;
  readonly wire: StreamWire & { blocked: boolean; drain(): void };
  /** Every packet this side sent, in order. */
  readonly sent: Packet[];
  /** For each flush this side asked for, how many packets it had sent by then. */
  readonly flushes: number[];
  /** Everything this side reported. */
  readonly reported: PnetworkError[];
}

/** Two stream tables joined by a link that delivers each packet `latency` frames later on `scheduler`. */
export interface StreamPair {
  readonly client: PairSide;
  readonly server: PairSide;
  /** Handlers the server serves opens with, by action. */
  readonly handlers: Map<string, PairHandler>;
  /** Hands a raw packet to `side` as if the peer had sent it. */
  deliver(side: PairSide, packet: Packet): void;
}

/** Settings with small, test-friendly defaults. */
export function pairSettings(scheduler: SchedulerLike, overrides: Partial<StreamSettings> = {}): StreamSettings {
  return { streamPrefetch: 4, maxConcurrentStreams: 8, maxStreamBufferedValues: 4, scheduler, ...overrides };
}

/** Builds a linked pair: the client opens odd ids, the server even, both announce stream support. */
export function streamPair(scheduler: SchedulerLike, settings: StreamSettings, latency = 1): StreamPair {
  const handlers = new Map<string, PairHandler>();
  const sides: { client?: PairSide; server?: PairSide } = {};
  const deliver = (side: PairSide, packet: Packet): void => {
    if (isStreamControl(packet.action)) {
      side.table.control(packet);
      return;
    }
    if (packet.stream === undefined) return;
    const responder: StreamResponder | null = side.table.accept(packet);
    if (responder === null) return;
    const handler = handlers.get(packet.action);
    if (!handler) {
      responder.refuse({ code: 'ERR_NO_HANDLER', message: `no handler for ${packet.action}` });
      return;
    }
    try {
      responder.serve(handler(responder.data), (cause) => ({ code: 'ERR_HANDLER', message: String((cause as Error).message ?? cause) }));
    } catch (err) {
      responder.refuse({ code: 'ERR_HANDLER', message: (err as Error).message });
    }
  };
  const side = (peer: () => PairSide, even: boolean): PairSide => {
    const sent: Packet[] = [];
    const flushes: number[] = [];
    const reported: PnetworkError[] = [];
    const waiters: Array<() => void> = [];
    const wire = {
      token: 't',
      blocked: false,
      onceDrained: (callback: () => void) => void waiters.push(callback),
      drain(): void {
        wire.blocked = false;
        for (const waiter of waiters.splice(0)) waiter();
      },
      trySend(packet: Packet): Error | null {
        sent.push(packet);
        const copy = JSON.parse(JSON.stringify(packet)) as Packet;
        if (latency === 0) deliver(peer(), copy);
        else scheduler.schedule(() => deliver(peer(), copy), latency);
        return null;
      },
      trySendValue: (stream: number, value: unknown): Error | null => wire.trySend(streamPacket(STREAM_ACTIONS.next, stream, value, wire.token)),
      flush: () => void flushes.push(sent.length),
      report: (error: PnetworkError) => void reported.push(error),
    };
    const table = new StreamTable(wire, settings, even);
    table.peerSupportsStreams = true;
    return { table, wire, sent, flushes, reported };
  };
  const client = side(() => sides.server!, false);
  const server = side(() => sides.client!, true);
  sides.client = client;
  sides.server = server;
  return { client, server, handlers, deliver };
}

/** The packets of `side` with the given action on stream `stream`. */
export function sentOf(side: PairSide, action: string, stream?: number): Packet[] {
  return side.sent.filter((packet) => packet.action === action && (stream === undefined || packet.stream === stream));
}
