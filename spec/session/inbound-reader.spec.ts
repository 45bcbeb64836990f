import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { FrameTimeoutError, FrameTooLargeError, HandshakeError, HandshakeTimeoutError, IncompleteFrameError, PacketError } from '../../lib/errors.js';
import { serverHandshakeRules, type HandshakeEvent } from '../../lib/operators/handshake.js';
import { PROTOCOL_VERSION } from '../../lib/defaults.js';
import { JSON_CODEC } from '../../lib/protocol/codec.js';
import { encodeTextFrame } from '../../lib/protocol/frame.js';
import { InboundReader, type InboundSink } from '../../lib/session/inbound-reader.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

const TOKEN = 'token-1';
const frame = (packet: object): Buffer => encodeTextFrame(JSON.stringify(packet));
const hello = frame({ action: 'handshake', data: { protocol: PROTOCOL_VERSION }, 'packet-created': 1, token: null });
const chat = (n: number): Buffer => frame({ action: 'chat', data: n, 'packet-created': 1, token: TOKEN });

/** Records what the reader tells its connection. */
class Sink implements InboundSink {
  readonly events: HandshakeEvent[] = [];
  readonly fatal: unknown[] = [];
  ended = 0;
  onEvent(event: HandshakeEvent): void {
    this.events.push(event);
  }
  onFatal(err: unknown): void {
    this.fatal.push(err);
  }
  onEnd(): void {
    this.ended++;
  }
}

describe('session/InboundReader', () => {
  let clock: VirtualClock;
  let socket: EventEmitter;
  let sink: Sink;
  let counters: { bytesIn: number };

  const reader = (options: { maxFrameBytes?: number; incompleteFrameTimeoutMs?: number; timeoutMs?: number } = {}): InboundReader => {
    const rules = serverHandshakeRules({ timeoutMs: options.timeoutMs ?? 1000, scheduler: clock, issueToken: () => TOKEN });
    const settings = {
      codec: JSON_CODEC,
      maxFrameBytes: options.maxFrameBytes ?? 1024,
      maxHandshakeBytes: 1024,
      incompleteFrameTimeoutMs: options.incompleteFrameTimeoutMs ?? Number.POSITIVE_INFINITY,
      scheduler: clock,
    };
    return new InboundReader(socket as unknown as Socket, settings, rules, undefined, sink, counters);
  };

  beforeEach(() => {
    clock = new VirtualClock();
    socket = new EventEmitter();
    sink = new Sink();
    counters = { bytesIn: 0 };
  });

  it('turns chunks split anywhere into the handshake and then token-checked packets, counting bytes', () => {
    reader();
    const bytes = Buffer.concat([hello, chat(1), chat(2)]);
    for (let at = 0; at < bytes.length; at += 7) socket.emit('data', bytes.subarray(at, at + 7));
    expect(sink.events.map((e) => e.type)).to.deep.equal(['handshake', 'packet', 'packet']);
    expect(sink.events.slice(1).map((e) => (e.type === 'packet' ? e.packet.data : null))).to.deep.equal([1, 2]);
    expect(counters.bytesIn).to.equal(bytes.length);
    expect(sink.fatal).to.deep.equal([]);
  });

  it('passes a malformed packet after the handshake on as a rejected event and keeps reading', () => {
    reader();
    socket.emit('data', Buffer.concat([hello, encodeTextFrame('{not json'), chat(3)]));
    expect(sink.events.map((e) => e.type)).to.deep.equal(['handshake', 'rejected', 'packet']);
    const rejected = sink.events[1]!;
    expect(rejected.type === 'rejected' && rejected.error).to.be.instanceOf(PacketError);
  });

  it('fails once, with HandshakeError, when the first packet is not a handshake, and reads nothing after', () => {
    reader();
    socket.emit('data', Buffer.concat([chat(1), chat(2)]));
    socket.emit('data', chat(3));
    expect(sink.fatal).to.have.length(1);
    expect(sink.fatal[0]).to.be.instanceOf(HandshakeError);
    expect(sink.events).to.deep.equal([]);
  });

  it('fails with FrameTooLargeError before buffering a payload over the limit', () => {
    reader({ maxFrameBytes: 100 });
    socket.emit('data', hello);
    socket.emit('data', Buffer.from([0, 0, 1, 0]));
    expect(sink.fatal).to.have.length(1);
    expect(sink.fatal[0]).to.be.instanceOf(FrameTooLargeError);
  });

  it('ends on close after whole frames, and fails with IncompleteFrameError when the socket closes mid-frame', () => {
    reader();
    socket.emit('data', hello);
    socket.emit('close');
    expect(sink.ended).to.equal(1);
    expect(sink.fatal).to.deep.equal([]);

    socket = new EventEmitter();
    sink = new Sink();
    reader();
    socket.emit('data', hello.subarray(0, 5));
    socket.emit('close');
    expect(sink.ended).to.equal(0);
    expect(sink.fatal[0]).to.be.instanceOf(IncompleteFrameError);
  });

  it('times the handshake and a stalled frame on its scheduler', () => {
    reader({ timeoutMs: 500 });
    clock.advance(499);
    expect(sink.fatal).to.deep.equal([]);
    clock.advance(1);
    expect(sink.fatal[0]).to.be.instanceOf(HandshakeTimeoutError);

    socket = new EventEmitter();
    sink = new Sink();
    reader({ incompleteFrameTimeoutMs: 200 });
    socket.emit('data', hello.subarray(0, 3));
    clock.advance(200);
    expect(sink.fatal[0]).to.be.instanceOf(FrameTimeoutError);
  });

  it('stop() removes its data and close listeners and cancels the handshake timer; later socket errors are absorbed', () => {
    const r = reader();
    r.stop();
    expect(socket.listenerCount('data')).to.equal(0);
    expect(socket.listenerCount('close')).to.equal(0);
    expect(clock.pending).to.equal(0);
    clock.advance(5000);
    expect(() => socket.emit('error', new Error('ECONNRESET'))).not.to.throw();
    expect(sink.fatal).to.deep.equal([]);
  });

  it('reports a socket error as fatal while reading', () => {
    reader();
    const reset = new Error('ECONNRESET');
    socket.emit('error', reset);
    expect(sink.fatal).to.deep.equal([reset]);
  });

  it('adds the same listener functions for every socket: a connection holds no closures for reading', () => {
    reader();
    const first = socket;
    socket = new EventEmitter();
    reader();
    for (const event of ['data', 'close', 'error']) expect(socket.listeners(event)).to.deep.equal(first.listeners(event));
  });
});
