import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { ConnectionClosedError, FrameTooLargeError, SendBufferFullError } from '../../lib/errors.js';
import { FrameDecoder } from '../../lib/protocol/frame.js';
import { FrameWriter, type FrameWriterListener } from '../../lib/transport/frame-writer.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

/** A socket stand-in that records writes, can report itself full, and holds `writableLength` bytes. */
class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  full = false;
  ended = false;
  writableLength = 0;
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
  /** The socket sends what it holds and tells the writer. */
  drain(): void {
    this.full = false;
    this.writableLength = 0;
    this.emit('drain');
  }
  /** Every payload written so far, decoded back from the frames. */
  payloads(): string[] {
    const out: string[] = [];
    const decoder = new FrameDecoder(1 << 20);
    for (const chunk of this.writes) decoder.push(chunk, (p) => out.push(Buffer.from(p).toString('utf8')));
    return out;
  }
}

class Stalls implements FrameWriterListener {
  readonly errors: SendBufferFullError[] = [];
  onWriterStalled(error: SendBufferFullError): void {
    this.errors.push(error);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('transport/FrameWriter', () => {
  let socket: FakeSocket;
  let clock: VirtualClock;
  let stalls: Stalls;
  let counters: { packetsOut: number; bytesOut: number };
  const writer = (maxSendBufferBytes = 1024, maxFrameBytes = 1 << 20, sendStallTimeoutMs = 1000): FrameWriter =>
    new FrameWriter(socket as unknown as Socket, { maxFrameBytes, maxSendBufferBytes, sendStallTimeoutMs, scheduler: clock }, counters, stalls);

  beforeEach(() => {
    socket = new FakeSocket();
    clock = new VirtualClock();
    stalls = new Stalls();
    counters = { packetsOut: 0, bytesOut: 0 };
  });

  it('frames every payload of one tick into a single socket write, in order', async () => {
    const w = writer();
    const sent = [w.write('a'), w.write(Buffer.from('bc')), w.write('déf')];
    expect(socket.writes).to.have.length(0);
    await Promise.all(sent);
    expect(socket.writes).to.have.length(1);
    expect(socket.payloads()).to.deep.equal(['a', 'bc', 'déf']);
    expect(counters).to.deep.equal({ packetsOut: 3, bytesOut: 4 * 3 + 1 + 2 + 4 });
  });

  it('frames a spliced payload (head and tail) as one frame, between whole ones, in order and in the counters', async () => {
    const w = writer();
    const head = Buffer.from('{"shared":');
    expect(w.tryWrite('a')).to.equal(null);
    expect(w.tryWriteSpliced(head, Buffer.from('1}'))).to.equal(null);
    expect(w.tryWriteSpliced(head, Buffer.from('"two"}'))).to.equal(null);
    expect(w.tryWrite(Buffer.from('z'))).to.equal(null);
    await w.lastWritten;
    expect(socket.writes).to.have.length(1);
    expect(socket.payloads()).to.deep.equal(['a', '{"shared":1}', '{"shared":"two"}', 'z']);
    expect(counters).to.deep.equal({ packetsOut: 4, bytesOut: 4 * 4 + 1 + 12 + 16 + 1 });
  });

  it('refuses a spliced payload whose two parts together exceed maxFrameBytes', () => {
    const w = writer(1024, 5);
    expect(w.tryWriteSpliced(Buffer.from('abc'), Buffer.from('de'))).to.equal(null);
    expect(w.tryWriteSpliced(Buffer.from('abc'), Buffer.from('def'))).to.be.instanceOf(FrameTooLargeError);
  });

  it('keeps a spliced payload whole when the socket is full and its batch is framed early', async () => {
    const w = writer(1 << 20);
    socket.full = true;
    w.write('first').catch(() => undefined);
    await tick();
    const head = Buffer.from('h'.repeat(1000));
    for (let i = 0; i < 100; i++) expect(w.tryWriteSpliced(head, Buffer.from(String(i)))).to.equal(null);
    const written = w.lastWritten;
    socket.drain();
    await written;
    expect(socket.payloads()).to.deep.equal(['first', ...Array.from({ length: 100 }, (_, i) => `${'h'.repeat(1000)}${i}`)]);
  });

  it('frames large batches into one reused buffer for a socket that copies each write, and into a new one once the socket keeps one', async () => {
    /** Copies what it is given (as the kernel does), keeps the buffers it was handed, and can be told to queue the next write. */
    class CopyingSocket extends FakeSocket {
      readonly copiesWrites = true;
      connecting = false;
      queueNext = false;
      readonly given: Buffer[] = [];
      override write(chunk: Buffer): boolean {
        this.given.push(chunk);
        if (this.queueNext) this.writableLength = chunk.length; // it holds these bytes now
        return super.write(Buffer.from(chunk));
      }
    }
    const copying = new CopyingSocket();
    socket = copying;
    const w = writer(1 << 20);
    const big = (tag: string): string => tag.padEnd(6000, '.');
    const send = async (text: string): Promise<void> => {
      w.write(text).catch(() => undefined);
      await w.lastWritten;
    };
    for (const tag of ['one', 'two', 'three']) await send(big(tag));
    copying.queueNext = true;
    await send(big('four')); // the socket keeps this buffer
    copying.queueNext = false;
    copying.writableLength = 0;
    await send(big('five'));
    await send('small');
    copying.connecting = true;
    await send(big('six'));
    expect(socket.payloads()).to.deep.equal([...['one', 'two', 'three', 'four', 'five'].map(big), 'small', big('six')]);
    const sameAsFirst = (i: number): boolean => copying.given[i]!.buffer === copying.given[0]!.buffer;
    expect([1, 2, 3].map(sameAsFirst), 'one buffer while every write was passed on at once').to.deep.equal([true, true, true]);
    expect(sameAsFirst(4), 'a new one after the socket kept the last').to.equal(false);
    expect(Buffer.from(copying.given[3]!).toString('utf8', 4, 8), 'the buffer the socket kept is never written again').to.equal('four');
    expect(copying.given[5]!.length < 4096 && copying.given[5]!.buffer !== copying.given[4]!.buffer, 'a small batch comes from the pool').to.equal(true);
    expect(copying.given[6]!.buffer, 'not while the socket is still connecting').not.to.equal(copying.given[4]!.buffer);
  });

  it('never reuses a buffer for a socket that does not say it copies writes (an in-memory socket hands it on)', async () => {
    const w = writer(1 << 20);
    const given: Buffer[] = [];
    const write = socket.write.bind(socket);
    socket.write = (chunk: Buffer): boolean => {
      given.push(chunk);
      return write(chunk);
    };
    for (const text of ['a', 'b']) {
      w.write(text).catch(() => undefined);
      await w.lastWritten;
    }
    const sameMemory = given[0]!.buffer === given[1]!.buffer && given[0]!.byteOffset === given[1]!.byteOffset;
    expect(sameMemory).to.equal(false);
    expect(Buffer.from(given[0]!).toString('utf8', 4), 'the first buffer still holds its own frame').to.equal('a');
    expect(socket.payloads()).to.deep.equal(['a', 'b']);
  });

  it('writes a large burst out in pieces of about 64 KiB instead of holding it to the end of the tick', async () => {
    const w = writer(1 << 20);
    const body = 'x'.repeat(1000);
    const sent = Array.from({ length: 200 }, () => w.write(body));
    expect(socket.writes.length).to.be.at.least(2);
    for (const chunk of socket.writes) expect(chunk.length).to.be.at.most(64 * 1024);
    await Promise.all(sent);
    expect(socket.payloads()).to.have.length(200);
  });

  it('holds writes while the socket is full and sends them, in order, on drain', async () => {
    const w = writer();
    socket.full = true;
    await w.write('first');
    const second = w.write('second');
    await tick();
    expect(socket.writes).to.have.length(1);
    socket.drain();
    await second;
    expect(socket.payloads()).to.deep.equal(['first', 'second']);
  });

  // Failed before: once maxSendBufferBytes waited for a full socket, every further write was refused.
  it("accepts a caller's burst far beyond maxSendBufferBytes while the socket is full, and sends all of it in order", async () => {
    const w = writer(4096);
    socket.full = true;
    const sent = Array.from({ length: 500 }, (_, i) => w.write(`${i}:${'x'.repeat(100)}`));
    expect(w.bufferedBytes).to.be.above(4096);
    // The socket takes one piece per drain, as a slow but reading peer would.
    for (let round = 0; round < 100 && socket.payloads().length < 500; round++) {
      socket.full = true;
      socket.emit('drain');
    }
    await Promise.all(sent);
    expect(socket.payloads()).to.deep.equal(Array.from({ length: 500 }, (_, i) => `${i}:${'x'.repeat(100)}`));
    expect(stalls.errors).to.deep.equal([]);
  });

  it("counts the socket's own backlog in bufferedBytes, and turns writable off above the limit and on after the drain", async () => {
    const w = writer(1000);
    const seen: boolean[] = [];
    const sub = w.writable$.subscribe((writable) => seen.push(writable));
    socket.full = true;
    await w.write('x'.repeat(10));
    socket.writableLength = 14;
    expect(w.bufferedBytes).to.equal(14);
    void w.write('y'.repeat(1200));
    expect(w.bufferedBytes).to.equal(14 + 1204);
    expect(w.writable).to.equal(false);
    let drained = false;
    const waiting = w.drained().then(() => (drained = true));
    await tick();
    expect(drained).to.equal(false);
    socket.drain();
    await waiting;
    expect(w.writable).to.equal(true);
    expect(seen).to.deep.equal([false, true]);
    expect(await w.drained()).to.equal(undefined);
    sub.unsubscribe();
  });

  it('reports a stalled peer once the backlog stays over the limit with no progress for sendStallTimeoutMs', async () => {
    const w = writer(100, 1 << 20, 1000);
    socket.full = true;
    await w.write('fill');
    void w.write('x'.repeat(200));
    clock.advance(999);
    expect(stalls.errors).to.have.length(0);
    clock.advance(1);
    expect(stalls.errors).to.have.length(1);
    expect(stalls.errors[0]).to.be.instanceOf(SendBufferFullError).and.include({ code: 'ERR_SEND_BUFFER_FULL', limit: 100, stalledMs: 1000 });
    clock.advance(10_000);
    expect(stalls.errors).to.have.length(1);
    w.close();
  });

  it('reports a stalled peer when what waits for the socket is under the limit but held upstream (stream values waiting for drain)', async () => {
    const w = writer(1 << 20, 1 << 20, 1000);
    socket.full = true;
    await w.write('fill');
    expect(w.blocked).to.equal(true);
    let drained = 0;
    w.onceDrained(() => drained++);
    clock.advance(999);
    expect(stalls.errors).to.have.length(0);
    clock.advance(1);
    expect(stalls.errors).to.have.length(1);
    expect(stalls.errors[0]).to.be.instanceOf(SendBufferFullError).and.include({ stalledMs: 1000 });
    expect(drained).to.equal(0);
    w.close();
  });

  it('does not report a blocked writer whose drain waiters are served in time, and leaves no timer behind', async () => {
    const w = writer(1 << 20, 1 << 20, 1000);
    for (let round = 0; round < 5; round++) {
      socket.full = true;
      await w.write(`fill ${round}`);
      let drained = false;
      w.onceDrained(() => (drained = true));
      clock.advance(900);
      socket.drain();
      expect(drained, `round ${round}`).to.equal(true);
    }
    clock.advance(5_000);
    expect(stalls.errors).to.deep.equal([]);
    expect(clock.pending).to.equal(0);
  });

  it('does not report a peer that keeps reading, however long the backlog stays over the limit', async () => {
    const w = writer(100, 1 << 20, 1000);
    socket.full = true;
    await w.write('fill');
    const sent = Array.from({ length: 50 }, () => w.write('x'.repeat(70 * 1024)));
    for (let round = 0; round < 60 && w.bufferedBytes > 0; round++) {
      clock.advance(600);
      socket.full = true;
      socket.emit('drain');
    }
    await Promise.all(sent);
    expect(stalls.errors).to.deep.equal([]);
    expect(clock.pending).to.equal(0);
  });

  it('rejects a payload over maxFrameBytes before queueing it', async () => {
    const w = writer(1024, 4);
    const err = await w.write('12345').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FrameTooLargeError);
    expect(counters.packetsOut).to.equal(0);
  });

  it('ends the socket only after what was accepted has been written', async () => {
    const w = writer();
    const sent = w.write('last words');
    w.end();
    expect(socket.ended).to.equal(false);
    await sent;
    expect(socket.ended).to.equal(true);
    expect(socket.payloads()).to.deep.equal(['last words']);
    expect(await w.write('too late').catch((e: unknown) => e)).to.be.instanceOf(ConnectionClosedError);
  });

  it('rejects what is still waiting, and drained() waiters, when closed with the error given', async () => {
    const w = writer(10);
    socket.full = true;
    await w.write('fill');
    const waiting = w.write('never sent, and over the limit');
    const drained = w.drained();
    const error = new ConnectionClosedError('gone');
    w.close(error);
    expect(await waiting.catch((e: unknown) => e)).to.equal(error);
    expect(await drained.catch((e: unknown) => e)).to.equal(error);
    expect(await w.write('after').catch((e: unknown) => e)).to.equal(error);
    expect(clock.pending).to.equal(0);
  });
});
