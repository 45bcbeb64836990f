import { expect } from 'chai';
import fc from 'fast-check';
import { ReservedActionError } from '../../lib/errors.js';
import { InMemoryRooms } from '../../lib/rooms/in-memory-rooms.js';
import { checkRoomName } from '../../lib/rooms/room-registry.js';
import { RoomTarget, type RoomDelivery } from '../../lib/rooms/room-target.js';
import { refuseAction } from '../../lib/protocol/packet.js';
import { JSON_CODEC } from '../../lib/protocol/codec.js';
import { SharedPacket } from '../../lib/protocol/shared-packet.js';
import { broadcastShared, type FanOutRecipient } from '../../lib/rooms/fan-out.js';

const sorted = (members: Iterable<string>): string[] => [...members].sort();

describe('rooms/InMemoryRooms', () => {
  it('joins, leaves and counts, idempotently', () => {
    const rooms = new InMemoryRooms<string>();
    rooms.join('a', 'lobby');
    rooms.join('a', 'lobby');
    rooms.join('b', 'lobby');
    rooms.join('b', 'muted');
    expect(Object.fromEntries(rooms.counts())).to.deep.equal({ lobby: 2, muted: 1 });
    expect(sorted(rooms.roomsOf('b'))).to.deep.equal(['lobby', 'muted']);
    rooms.leave('b', 'muted');
    rooms.leave('b', 'muted');
    rooms.leave('c', 'lobby');
    expect(Object.fromEntries(rooms.counts())).to.deep.equal({ lobby: 2 });
    expect(sorted(rooms.roomsOf('b'))).to.deep.equal(['lobby']);
    expect(rooms.roomsOf('nobody').size).to.equal(0);
  });

  it('leaveAll takes a member out of every room and drops rooms left empty', () => {
    const rooms = new InMemoryRooms<string>();
    for (const room of ['r1', 'r2', 'r3']) rooms.join('a', room);
    rooms.join('b', 'r2');
    rooms.leaveAll('a');
    expect(Object.fromEntries(rooms.counts())).to.deep.equal({ r2: 1 });
    expect(rooms.roomsOf('a').size).to.equal(0);
  });

  it('selects the members of any of the rooms, minus those in an excluded room, each once', () => {
    const rooms = new InMemoryRooms<string>();
    rooms.join('a', 'lobby');
    rooms.join('b', 'lobby');
    rooms.join('b', 'games');
    rooms.join('c', 'games');
    rooms.join('c', 'muted');
    expect(sorted(rooms.select(['lobby'], []))).to.deep.equal(['a', 'b']);
    expect(sorted(rooms.select(['lobby', 'games'], []))).to.deep.equal(['a', 'b', 'c']);
    expect(sorted(rooms.select(['lobby', 'games'], ['muted']))).to.deep.equal(['a', 'b']);
    expect(sorted(rooms.select(['games'], ['lobby', 'muted']))).to.deep.equal([]);
    expect(sorted(rooms.select(['nowhere'], []))).to.deep.equal([]);
  });

  it('agrees with a naive model for any sequence of joins and leaves (property)', () => {
    const member = fc.constantFrom('a', 'b', 'c', 'd');
    const room = fc.constantFrom('r1', 'r2', 'r3');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('join' as const), member, room }),
      fc.record({ kind: fc.constant('leave' as const), member, room }),
      fc.record({ kind: fc.constant('leaveAll' as const), member, room }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.subarray(['r1', 'r2', 'r3']), fc.subarray(['r1', 'r2', 'r3']), (ops, include, exclude) => {
        const rooms = new InMemoryRooms<string>();
        const model = new Map<string, Set<string>>();
        for (const { kind, member: m, room: r } of ops) {
          if (kind === 'join') {
            rooms.join(m, r);
            model.set(m, (model.get(m) ?? new Set()).add(r));
          } else if (kind === 'leave') {
            rooms.leave(m, r);
            model.get(m)?.delete(r);
          } else {
            rooms.leaveAll(m);
            model.delete(m);
          }
        }
        const expected = [...model]
          .filter(([, rs]) => include.some((r) => rs.has(r)) && !exclude.some((r) => rs.has(r)))
          .map(([m]) => m)
          .sort();
        expect(sorted(rooms.select(include, exclude))).to.deep.equal(expected);
        const counts = new Map<string, number>();
        for (const rs of model.values()) for (const r of rs) counts.set(r, (counts.get(r) ?? 0) + 1);
        expect(Object.fromEntries(rooms.counts())).to.deep.equal(Object.fromEntries(counts));
      }),
      { numRuns: 200 },
    );
  });
});

describe('rooms/RoomTarget', () => {
  /** A member as the fan-out sees it: its copy is recorded, and handed over when `written` says. */
  function recipient(member: string, sent: string[], written: () => Promise<void>): FanOutRecipient {
    return {
      writeShared: (shared) => {
        if (member === 'closing') return null;
        sent.push(`${member} ${shared.action} ${JSON.stringify(shared.data)}`);
        return written();
      },
    };
  }

  function target(written: () => Promise<void> = () => Promise.resolve()): { delivery: RoomDelivery<string>; sent: string[]; rooms: InMemoryRooms<string>; unheard: unknown[] } {
    const rooms = new InMemoryRooms<string>();
    const sent: string[] = [];
    const unheard: unknown[] = [];
    const delivery: RoomDelivery<string> = {
      registry: rooms,
      prepare: (action, data) => new SharedPacket(JSON_CODEC, action, data, 0, 1024),
      // The real broadcast over stand-in recipients: each records its copy; 'closing' refuses it.
      broadcast: (members, shared, publish) => broadcastShared([...members].map((member) => recipient(member, sent, written)), shared, publish),
      refuse: (action) => refuseAction(action, 256),
      reporter: { reportUnhandled: (error) => unheard.push(error) },
    };
    return { delivery, sent, rooms, unheard };
  }

  it('broadcasts to the target and counts the members it reached', async () => {
    const { delivery, sent, rooms } = target();
    rooms.join('a', 'lobby');
    rooms.join('b', 'lobby');
    rooms.join('b', 'muted');
    rooms.join('closing', 'lobby');
    const lobby = new RoomTarget<string>(delivery, ['lobby']);
    expect(await lobby.except('muted').broadcast('chat', { text: 'hi' })).to.equal(1);
    expect(sent).to.deep.equal(['a chat {"text":"hi"}']);
    expect(await lobby.broadcast('chat', null)).to.equal(2);
    expect(lobby.except('muted').to('muted').members().sort()).to.deep.equal(['a', 'closing']);
  });

  it('keeps targets immutable', () => {
    const { delivery } = target();
    const lobby = new RoomTarget<string>(delivery, ['lobby']);
    const narrower = lobby.except('muted');
    expect(lobby.excluded).to.deep.equal([]);
    expect(narrower.rooms).to.deep.equal(['lobby']);
    expect(narrower.excluded).to.deep.equal(['muted']);
  });

  it('rejects a reserved action before sending anything, and refuses bad room names', async () => {
    const { delivery, sent, rooms } = target();
    rooms.join('a', 'lobby');
    const error = await new RoomTarget<string>(delivery, ['lobby']).broadcast('ping', null).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(ReservedActionError);
    expect(sent).to.deep.equal([]);
    expect(() => new RoomTarget<string>(delivery, ['lobby']).except('')).to.throw(TypeError, /non-empty string/);
    expect(() => checkRoomName(42)).to.throw(TypeError, /got number/);
    expect(checkRoomName('ok')).to.equal('ok');
  });
  it('gives the failure of a broadcast nobody awaits to its reporter, not to an unhandled rejection', async () => {
    const { delivery, rooms, unheard } = target();
    rooms.join('a', 'lobby');
    void new RoomTarget<string>(delivery, ['lobby']).broadcast('ping', null);
    void new RoomTarget<string>(delivery, ['lobby']).broadcast('chat', { n: 1n });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(unheard.map((error) => (error as { code?: string }).code)).to.deep.equal(['ERR_RESERVED_ACTION', 'ERR_PACKET_JSON']);
  });

  it('handles a failed cluster publish at once, even while local sends are still being written', async () => {
    const { delivery, rooms } = target(() => new Promise((resolve) => setTimeout(resolve, 20)));
    rooms.join('a', 'lobby');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing: RoomDelivery<string> = { ...delivery, publish: () => Promise.reject(new Error('engine down')) };
      const error = await new RoomTarget<string>(failing, ['lobby']).broadcast('chat', null).catch((err: unknown) => err);
      await new Promise((resolve) => setImmediate(resolve));
      expect((error as Error).message).to.equal('engine down');
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
