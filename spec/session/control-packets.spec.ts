import { expect } from 'chai';
import { RemoteError, type PnetworkError } from '../../lib/errors.js';
import { RESERVED_ACTIONS, type Packet } from '../../lib/protocol/packet.js';
import {
  CONTROL_HANDLERS,
  closingPacket,
  closingReason,
  errorPacket,
  handleControlPacket,
  pingPacket,
  refusedPacketId,
  type ControlContext,
} from '../../lib/session/control-packets.js';

/** A context that records what the handlers did; `waiting` holds the request ids a reply may settle. */
class RecordingContext implements ControlContext {
  readonly token = 'tkn';
  readonly settled: Packet[] = [];
  readonly sent: Packet[] = [];
  readonly reported: PnetworkError[] = [];
  closingReasons: string[] = [];
  constructor(readonly waiting = new Set<number>()) {}

  now(): number {
    return 4242;
  }

  settleRequest(packet: Packet): boolean {
    if (packet.id === undefined || !this.waiting.delete(packet.id)) return false;
    this.settled.push(packet);
    return true;
  }

  sendControl(packet: Packet): Promise<void> {
    this.sent.push(packet);
    return Promise.resolve();
  }

  reportError(error: PnetworkError): void {
    this.reported.push(error);
  }

  readonly streamPackets: Packet[] = [];

  streamControl(packet: Packet): void {
    this.streamPackets.push(packet);
  }

  peerClosing(reason: string): void {
    this.closingReasons.push(reason);
  }
}

const incoming = (action: string, data: unknown = null, id?: number): Packet => ({
  action,
  data,
  'packet-created': 1,
  token: 'tkn',
  ...(id !== undefined ? { id } : {}),
});

describe('session/control-packets', () => {
  it('handles exactly the reserved actions other than the handshake', () => {
    expect([...CONTROL_HANDLERS.keys()].sort()).to.deep.equal([...RESERVED_ACTIONS].filter((a) => a !== 'handshake').sort());
  });

  it('leaves a user packet to the caller', () => {
    const context = new RecordingContext();
    expect(handleControlPacket(incoming('chat', 'hi'), context)).to.equal(false);
    expect(context.sent).to.deep.equal([]);
  });

  it('settles the request a reply answers, and drops a reply nobody waits for', () => {
    const context = new RecordingContext(new Set([7]));
    expect(handleControlPacket(incoming('reply', 1, 7), context)).to.equal(true);
    expect(handleControlPacket(incoming('reply', 2, 8), context)).to.equal(true);
    expect(context.settled.map((p) => p.id)).to.deep.equal([7]);
    expect(context.reported).to.deep.equal([]);
  });

  it('settles the request an error answers, and reports one that answers none as a RemoteError', () => {
    const context = new RecordingContext(new Set([3]));
    handleControlPacket(incoming('error', { code: 'ERR_X', message: 'x' }, 3), context);
    handleControlPacket(incoming('error', { code: 'ERR_PACKET_JSON', message: 'bad json' }), context);
    expect(context.settled.map((p) => p.id)).to.deep.equal([3]);
    expect(context.reported).to.have.length(1);
    expect(context.reported[0]).to.be.instanceOf(RemoteError).and.include({ remoteCode: 'ERR_PACKET_JSON', message: 'bad json' });
  });

  it('answers a ping with a pong carrying the same data and the connection token', () => {
    const context = new RecordingContext();
    handleControlPacket(incoming('ping', { n: 1 }), context);
    expect(context.sent).to.have.length(1);
    expect(context.sent[0]).to.include({ action: 'pong', token: 'tkn', 'packet-created': 4242 });
    expect(context.sent[0]!.data).to.deep.equal({ n: 1 });
  });

  it('hands every stream-* packet to the streams, and nothing else', () => {
    const context = new RecordingContext();
    for (const action of ['stream-next', 'stream-complete', 'stream-error', 'stream-cancel', 'stream-credit']) {
      expect(handleControlPacket(incoming(action, 1), context)).to.equal(true);
    }
    handleControlPacket(incoming('ping'), context);
    expect(context.streamPackets.map((p) => p.action)).to.deep.equal(['stream-next', 'stream-complete', 'stream-error', 'stream-cancel', 'stream-credit']);
  });

  it('consumes a pong silently', () => {
    const context = new RecordingContext();
    expect(handleControlPacket(incoming('pong'), context)).to.equal(true);
    expect(context.sent.length + context.reported.length + context.settled.length).to.equal(0);
  });

  it('records the reason a closing packet gives, or says none was given', () => {
    const context = new RecordingContext();
    handleControlPacket(incoming('closing', { reason: 'bye' }), context);
    handleControlPacket(incoming('closing', 5), context);
    expect(context.closingReasons).to.deep.equal(['closed by peer: bye', 'closed by peer: no reason given']);
    expect(closingReason(null)).to.equal('closed by peer: no reason given');
  });

  it('builds the control packets it sends', () => {
    expect(pingPacket('t', 7)).to.include({ action: 'ping', data: null, token: 't', 'packet-created': 7 });
    expect(closingPacket('why', null, 7)).to.deep.include({ action: 'closing', data: { reason: 'why' }, token: null, 'packet-created': 7 });
    expect(errorPacket('ERR_X', 'm', 't', 9, 7)).to.deep.include({ action: 'error', data: { code: 'ERR_X', message: 'm' }, id: 9, 'packet-created': 7 });
    expect(errorPacket('ERR_X', 'm', 't', undefined, 7)).not.to.have.property('id');
  });

  it('echoes the id of a refused request, never that of a refused reply or error', () => {
    expect(refusedPacketId(incoming('sum', null, 5))).to.equal(5);
    expect(refusedPacketId(incoming('reply', null, 5))).to.equal(undefined);
    expect(refusedPacketId(incoming('error', null, 5))).to.equal(undefined);
    expect(refusedPacketId(undefined)).to.equal(undefined);
  });
});
