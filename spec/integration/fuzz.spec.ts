// Fuzzing a live server (in its own process, so its faults and memory are its own): arbitrary byte
// streams and packet-shaped objects, a fixed seed and a bounded number of runs. No run may crash it or
// leave a rejection unhandled; every connection the protocol says to close is closed, with an error
// packet; every other one still answers; afterwards the server holds nothing and its memory is back
// near where it started.
import { expect } from 'chai';
import fc from 'fast-check';
import { DEFAULTS } from '../../lib/defaults.js';
import type { ErrorCode } from '../../lib/errors.js';
import { ChildServer, type ProbeReply } from '../helpers/child-server.js';
import { RawClient, type WirePacket } from '../helpers/raw-client.js';

const WAIT_MS = 20_000;
const SEED = 20_261_201;
/** Memory the server may keep above its warmed-up baseline once every fuzz connection is gone. */
const MEMORY_SLACK_BYTES = 4 * 1024 * 1024;

/** How the server must treat a connection after the bytes it was sent. */
type Outcome =
  /** Closed at once, its last error packet saying why (a frame too large, a first frame that is no handshake). */
  | { kind: 'closed'; code: ErrorCode }
  /** Waiting for more (a first frame or a frame unfinished); closed with an error packet when its deadline passes. */
  | { kind: 'stalled'; code: ErrorCode }
  /** Open, and still answering requests. */
  | { kind: 'open' };

describe('fuzzing a live server (integration)', function () {
  this.timeout(180_000);

  let server: ChildServer;
  let baseline: ProbeReply;
  const raws = new Set<RawClient>();

  before(async () => {
    server = await ChildServer.start();
    // Warm up: the first connections make the code paths hot and fill lazy caches.
    for (let i = 0; i < 30; i++) {
      const client = await RawClient.connect(server.port, WAIT_MS);
      await client.handshake(undefined, WAIT_MS);
      client.send('echo', { warm: i }, { id: 1 });
      await client.waitFor((frame) => frame.id === 1, 'the warm-up echo', WAIT_MS);
      client.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      await client.waitClosed(WAIT_MS);
    }
    await quiet();
    baseline = await server.gc();
  });

  afterEach(async () => {
    await Promise.all([...raws].map((raw) => raw.destroy()));
    raws.clear();
  });

  after(async () => {
    const code = await server.stop();
    expect(code, `the probe server exits on its own, cleanly: ${server.errorOutput}`).to.equal(0);
  });

  async function connect(): Promise<RawClient> {
    const client = await RawClient.connect(server.port, WAIT_MS);
    raws.add(client);
    return client;
  }

  async function drop(client: RawClient): Promise<void> {
    await client.destroy();
    raws.delete(client);
  }

  /** Waits until the server holds no connection and no timer. */
  async function quiet(): Promise<ProbeReply> {
    let state = await server.status();
    const deadline = Date.now() + WAIT_MS;
    while (state.open > 0 || state.pending > 0) {
      if (Date.now() > deadline) throw new Error(`the server still holds ${state.open} connections and ${state.pending} timers`);
      await new Promise<void>((resolve) => setTimeout(resolve, 2));
      state = await server.status();
    }
    return state;
  }

  /** Waits until the server has read `bytesIn` bytes in all, or `client` is closed. */
  async function settled(client: RawClient, bytesIn: number): Promise<ProbeReply> {
    let state = await server.status();
    const deadline = Date.now() + WAIT_MS;
    while (state.bytesIn < bytesIn && !client.hasClosed) {
      if (Date.now() > deadline) throw new Error(`the server read ${state.bytesIn} of ${bytesIn} bytes`);
      await new Promise<void>((resolve) => setTimeout(resolve, 2));
      state = await server.status();
    }
    return state;
  }

  function errorCodes(frames: WirePacket[]): string[] {
    return frames.filter((frame) => frame.action === 'error').map((frame) => (frame.data as { code: string }).code);
  }

  let probeId = 1_000_000;
  async function expectAnswering(client: RawClient, what: string): Promise<void> {
    const id = probeId++;
    client.send('echo', 'probe', { id });
    const reply = await client.waitFor((frame) => frame.id === id, `${what}: the probe's reply`, WAIT_MS);
    expect(reply.action, what).to.equal('reply');
    expect(reply.data, what).to.equal('probe');
  }

  /** Sends `segments` (after a handshake when `handshake`), then checks the server did what `outcome` says. */
  async function runStream(handshake: boolean, segments: Buffer[]): Promise<void> {
    const stream = Buffer.concat(segments);
    const outcome = streamOutcome(stream, handshake);
    const client = await connect();
    if (handshake) await client.handshake(undefined, WAIT_MS);
    const before = await server.status();
    for (const segment of segments) client.sendRaw(segment);
    const what = `${handshake ? 'after' : 'before'} the handshake, ${stream.length} bytes ${stream.subarray(0, 16).toString('hex')}…: ${JSON.stringify(outcome)}`;
    await settled(client, before.bytesIn + stream.length);
    if (outcome.kind === 'closed') {
      await client.waitClosed(WAIT_MS);
      expect(errorCodes(client.frames).at(-1), what).to.equal(outcome.code);
    } else if (outcome.kind === 'stalled') {
      expect(client.hasClosed, what).to.equal(false);
      await server.advance(Math.max(DEFAULTS.handshakeTimeoutMs, DEFAULTS.incompleteFrameTimeoutMs));
      await client.waitClosed(WAIT_MS).catch(() => {
        throw new Error(`${what}: not closed after its deadline`);
      });
      expect(errorCodes(client.frames).at(-1), what).to.equal(outcome.code);
    } else {
      await expectAnswering(client, what);
    }
    await drop(client);
  }

  it('arbitrary byte streams, before and after the handshake', async () => {
    const random = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
    // A well-formed header carrying arbitrary bytes, or arbitrary text, or a header cut short.
    const framed = fc.oneof(fc.uint8Array({ maxLength: 300 }).map(Buffer.from), fc.string({ maxLength: 200 }).map((text) => Buffer.from(text))).map(frame);
    const cut = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.uint8Array({ maxLength: 50 })).map(([length, bytes]) => Buffer.concat([header(length), Buffer.from(bytes)]));
    const segment = fc.oneof({ arbitrary: random, weight: 2 }, { arbitrary: framed, weight: 4 }, { arbitrary: cut, weight: 1 });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 6 }), async (handshake, segments) => {
        await runStream(handshake, segments);
      }),
      { seed: SEED, numRuns: 300, endOnFailure: true },
    );
  });

  it('arbitrary packet-shaped objects after the handshake', async () => {
    const TOKEN = '\u0000own token\u0000'; // replaced by the connection's real token when sent
    const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    /** Mostly a value the protocol accepts for a field, sometimes anything: so runs get past the early checks. */
    const mostly = <T,>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
      fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: invalid, weight: 1 });
    /** Null mostly, sometimes a value. */
    const rarely = <T,>(value: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, { arbitrary: value, weight: 1 });
    const packet = fc
      .record({
        action: mostly(fc.oneof(fc.constantFrom('echo', 'handshake', 'reply', 'error', 'ping', 'pong', 'closing', '__proto__', 'constructor'), fc.string({ minLength: 1, maxLength: 20 })), fc.oneof(fc.string({ maxLength: 300 }), scalar)),
        data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constant({ code: 'ERR_X', message: 'x', reason: 'y' }), fc.constant(JSON.parse('{"__proto__":{"polluted":true}}') as unknown)),
        'packet-created': mostly(fc.integer({ min: 0 }), scalar),
        token: mostly(fc.constant(TOKEN), scalar),
        id: fc.option(mostly(fc.nat(), fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 5 })))),
        extra: rarely(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'Action'), fc.jsonValue({ maxDepth: 1 }))),
        missing: rarely(fc.constantFrom('action', 'data', 'packet-created', 'token')),
      })
      .map(({ extra, missing, id, ...fields }) => {
        // Built from JSON text, so a __proto__ key is an own key as it would be on the wire.
        const object = JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
        if (id !== null) object.id = id;
        if (extra !== null) Object.defineProperty(object, extra[0], { value: extra[1], enumerable: true, configurable: true, writable: true });
        if (missing !== null) delete object[missing];
        return object;
      });
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 10 }), async (packets) => {
        const client = await connect();
        const token = await client.handshake(undefined, WAIT_MS);
        const sentIds = new Set<unknown>();
        for (const object of packets) {
          const text = JSON.stringify(object, (key, value: unknown) => (value === TOKEN ? token : value));
          if ('id' in object) sentIds.add(object.id);
          client.sendFrame(text);
        }
        const what = JSON.stringify(packets).slice(0, 500);
        // Packets are handled in order: once the probe is answered, every packet before it was.
        await expectAnswering(client, what);
        const answers = client.frames.slice(1);
        for (const answer of answers) {
          expect(['reply', 'error', 'pong'], what).to.include(answer.action);
          expect(answer.token, what).to.equal(token);
          if (answer.id !== undefined && (answer.id as number) < 1_000_000) expect(sentIds.has(answer.id), `${what}: an answer to an id never sent`).to.equal(true);
          if (answer.action === 'error') expect((answer.data as { code: unknown }).code, what).to.be.a('string').and.match(/^ERR_[A-Z_]+$/);
        }
        // No request is answered twice.
        const ids = answers.filter((answer) => answer.id !== undefined && answer.action !== 'pong').map((answer) => answer.id);
        expect(new Set(ids).size, what).to.equal(ids.length);
        await drop(client);
      }),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
  });

  it('leaves the server without a fault, a connection or a timer, and its memory near its baseline', async () => {
    const state = await quiet();
    expect(state.faults).to.deep.equal([]);
    expect(state.clients).to.equal(0);
    const after = await server.gc();
    expect(after.heapUsed - baseline.heapUsed, `heap: ${baseline.heapUsed} → ${after.heapUsed}`).to.be.below(MEMORY_SLACK_BYTES);
    expect(after.arrayBuffers - baseline.arrayBuffers, `buffers: ${baseline.arrayBuffers} → ${after.arrayBuffers}`).to.be.below(MEMORY_SLACK_BYTES);
    // The runs did reach the server's error paths, not just its happy path.
    for (const code of ['ERR_FRAME_TOO_LARGE', 'ERR_FRAME_TIMEOUT', 'ERR_HANDSHAKE_REQUIRED', 'ERR_HANDSHAKE_TIMEOUT', 'ERR_PACKET_JSON', 'ERR_TOKEN_MISMATCH', 'ERR_PACKET_UNKNOWN_KEY']) {
      expect(after.codes[code] ?? 0, code).to.be.above(0);
    }
  });
});

function header(length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length, 0);
  return bytes;
}

function frame(payload: Buffer): Buffer {
  return Buffer.concat([header(payload.length), payload]);
}

/**
 * What the server must do with `stream`, from the protocol alone: walk its frames as a receiver must.
 * The first frame of a connection that has not shaken hands must be a handshake; arbitrary bytes never
 * are one. After the handshake, a complete frame that is no valid packet is refused and the connection
 * stays open.
 */
function streamOutcome(stream: Buffer, handshaken: boolean): Outcome {
  let at = 0;
  let first = !handshaken;
  while (stream.length - at >= 4) {
    const length = stream.readUInt32BE(at);
    const limit = first ? DEFAULTS.maxHandshakeBytes : DEFAULTS.maxFrameBytes;
    if (length > limit) return { kind: 'closed', code: 'ERR_FRAME_TOO_LARGE' };
    if (stream.length - at - 4 < length) break;
    if (first) return { kind: 'closed', code: 'ERR_HANDSHAKE_REQUIRED' };
    at += 4 + length;
    first = false;
  }
  // No complete first frame: the handshake deadline (10 s) comes before the stalled-frame one (30 s).
  if (first) return { kind: 'stalled', code: 'ERR_HANDSHAKE_TIMEOUT' };
  if (at < stream.length) return { kind: 'stalled', code: 'ERR_FRAME_TIMEOUT' };
  return { kind: 'open' };
}
