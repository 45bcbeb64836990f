import { expect } from 'chai';
import { FairSender, type TurnTaker } from '../../../lib/session/streams/fair-sender.js';
import type { StreamWire } from '../../../lib/session/streams/stream-wire.js';

/** A wire that reports full after `room` writes, until drained. */
function fakeWire(): StreamWire & { room: number; drain(room?: number): void } {
  const waiters: Array<() => void> = [];
  const wire = {
    token: 't',
    room: Infinity,
    get blocked() {
      return wire.room <= 0;
    },
    onceDrained: (callback: () => void) => void waiters.push(callback),
    trySend: () => null,
    trySendValue: () => null,
    flush: () => undefined,
    report: () => undefined,
    drain(room = Infinity): void {
      wire.room = room;
      for (const waiter of waiters.splice(0)) waiter();
    },
  };
  return wire;
}

/** A stream with `count` values waiting and unlimited credit that logs each write. */
function taker(name: string, count: number, log: string[], wire: { room: number }): TurnTaker {
  let left = count;
  return {
    inRing: false,
    get sendable() {
      return left > 0;
    },
    sendOne() {
      left--;
      wire.room--;
      log.push(name);
    },
  };
}

describe('session/streams/FairSender', () => {
  it('gives waiting streams one value each in turn, so a busy stream does not starve a small one', () => {
    const wire = fakeWire();
    const sender = new FairSender(wire);
    const log: string[] = [];
    wire.room = 0;
    sender.enqueue(taker('busy', 5, log, wire));
    sender.enqueue(taker('small', 1, log, wire));
    sender.enqueue(taker('other', 2, log, wire));
    expect(log).to.deep.equal([]);
    wire.drain();
    expect(log).to.deep.equal(['busy', 'small', 'other', 'busy', 'other', 'busy', 'busy', 'busy']);
  });

  it('stops while the socket is full and goes on at the next drain, in the same order', () => {
    const wire = fakeWire();
    const sender = new FairSender(wire);
    const log: string[] = [];
    wire.room = 0;
    sender.enqueue(taker('a', 3, log, wire));
    sender.enqueue(taker('b', 3, log, wire));
    wire.drain(3);
    expect(log).to.deep.equal(['a', 'b', 'a']);
    expect(sender.idle).to.equal(false);
    wire.drain();
    expect(log).to.deep.equal(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(sender.idle).to.equal(true);
  });

  it('puts a stream in line once however often it is enqueued', () => {
    const wire = fakeWire();
    const sender = new FairSender(wire);
    const log: string[] = [];
    wire.room = 0;
    const stream = taker('a', 2, log, wire);
    sender.enqueue(stream);
    sender.enqueue(stream);
    wire.drain();
    expect(log).to.deep.equal(['a', 'a']);
  });
});
