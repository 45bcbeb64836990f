import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { ConnectionClosedError, FrameTooLargeError, SendBufferFullError } from '../../lib/errors.js';
import { FrameDecoder } from '../../lib/protocol/frame.js';
import { FrameWriter } from '../../lib/transport/frame-writer.js';

/** A socket stand-in that records writes and can report itself full. */
class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  full = false;
  ended = false;
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
  /** Every payload written so far, decoded back from the frames. */
  payloads(): string[] {
    const out: string[] = [];
    const decoder = new FrameDecoder(1 << 20);
    for (const chunk of this.writes) decoder.push(chunk, (p) => out.push(Buffer.from(p).toString('utf8')));
    return out;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('transport/FrameWriter', () => {
  let socket: FakeSocket;
  let counters: { packetsOut: number; bytesOut: number };
  const writer = (maxWaitingBytes = 1024): FrameWriter =>
    new FrameWriter(socket as unknown as Socket, 1 << 20, maxWaitingBytes, counters);

  beforeEach(() => {
    socket = new FakeSocket();
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
    socket.full = false;
    socket.emit('drain');
    await second;
    expect(socket.payloads()).to.deep.equal(['first', 'second']);
  });

  it('refuses more than maxWaitingBytes of backlog while the socket is full', async () => {
    const w = writer(64);
    socket.full = true;
    await w.write('fill the socket');
    const waiting = w.write('x'.repeat(40));
    const refused = await w.write('y'.repeat(40)).catch((err: unknown) => err);
    expect(refused).to.be.instanceOf(SendBufferFullError);
    expect((refused as SendBufferFullError).code).to.equal('ERR_SEND_BUFFER_FULL');
    socket.full = false;
    socket.emit('drain');
    await waiting;
  });

  it('rejects a payload over maxFrameBytes before queueing it', async () => {
    const w = new FrameWriter(socket as unknown as Socket, 4, 1024, counters);
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

  it('rejects what is still waiting when closed, with the error given', async () => {
    const w = writer();
    socket.full = true;
    await w.write('fill');
    const waiting = w.write('never sent');
    const error = new ConnectionClosedError('gone');
    w.close(error);
    expect(await waiting.catch((e: unknown) => e)).to.equal(error);
    expect(await w.write('after').catch((e: unknown) => e)).to.equal(error);
  });
});
