import { expect } from 'chai';
import fc from 'fast-check';
import { from, toArray } from 'rxjs';
import { DEFAULTS } from '../../lib/defaults.js';
import { PnetworkError } from '../../lib/errors.js';
import { decodeFrames } from '../../lib/operators/decode-frames.js';
import { decodePackets } from '../../lib/operators/decode-packets.js';
import { encodeFrames } from '../../lib/operators/encode-frames.js';
import { encodePackets } from '../../lib/operators/encode-packets.js';
import { JSON_CODEC } from '../../lib/protocol/codec.js';
import { encodeFrame, encodeTextFrame, FrameDecoder } from '../../lib/protocol/frame.js';
import type { Packet } from '../../lib/protocol/packet.js';

const NUM_RUNS = 200;

/** An action of 1–256 UTF-16 code units: printable ASCII, or any code points (surrogate pairs count twice). */
const actionArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 256 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }),
);

/**
 * A valid packet, normalised through JSON so that it is exactly what a JSON round trip can give back
 * (JSON has no -0 and no null-prototype objects).
 */
const packetArb: fc.Arbitrary<Packet> = fc
  .record(
    {
      action: actionArb,
      data: fc.jsonValue({ maxDepth: 4 }),
      'packet-created': fc.double({ noNaN: true, noDefaultInfinity: true }),
      token: fc.option(fc.string({ maxLength: 64 }), { nil: null }),
      id: fc.maxSafeNat(),
    },
    { requiredKeys: ['action', 'data', 'packet-created', 'token'], noNullPrototype: true },
  )
  .map((packet) => JSON.parse(JSON.stringify(packet)) as Packet);

/** Relative cut positions; scaled to a byte length they split it into chunks, possibly empty ones. */
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 24 });

/** Splits `bytes` at the scaled `cuts`. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => Math.floor(c * bytes.length)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Frames every packet and concatenates the frames. */
function wire(packets: Packet[]): Buffer {
  return Buffer.concat(packets.map((packet) => encodeFrame(JSON_CODEC.encode(packet))));
}

/** Runs chunks through FrameDecoder and the JSON codec, the way a connection does. */
function decodeChunks(chunks: Uint8Array[], maxFrameBytes = DEFAULTS.maxFrameBytes): Packet[] {
  const decoder = new FrameDecoder(maxFrameBytes);
  const packets: Packet[] = [];
  for (const chunk of chunks) decoder.push(chunk, (payload) => packets.push(JSON_CODEC.decode(payload)));
  decoder.end();
  return packets;
}

/** Runs chunks through the Rx operators; returns the packets, or the error the stream ended with. */
function decodeChunksRx(chunks: Uint8Array[], maxFrameBytes = DEFAULTS.maxFrameBytes): { packets?: Packet[]; error?: unknown } {
  let result: { packets?: Packet[]; error?: unknown } | undefined;
  from(chunks)
    .pipe(decodeFrames({ maxFrameBytes }), decodePackets(), toArray())
    .subscribe({ next: (packets) => (result = { packets }), error: (error: unknown) => (result = { error }) });
  expect(result, 'a synchronous source settles synchronously').not.to.equal(undefined);
  return result!;
}

/** Payloads that are anything from valid packets to garbage. */
const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.json({ maxDepth: 3 }).map((text) => new Uint8Array(Buffer.from(text, 'utf8'))),
  fc.string({ unit: 'binary', maxLength: 64 }).map((text) => new Uint8Array(Buffer.from(text, 'utf8'))),
  packetArb.map((packet) => new Uint8Array(JSON_CODEC.encode(packet))),
  fc
    .tuple(packetArb, fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }))
    .map(([packet, key, value]) => new Uint8Array(Buffer.from(JSON.stringify({ ...packet, [key]: value }), 'utf8'))),
);

/** Byte streams: random bytes, or well-framed payloads of any content with random bytes around them. */
const streamArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc
    .tuple(fc.array(payloadArb, { maxLength: 6 }), fc.uint8Array({ maxLength: 8 }))
    .map(([payloads, tail]) => new Uint8Array(Buffer.concat([...payloads.map((p) => encodeFrame(p)), tail]))),
);

describe('protocol properties', () => {
  describe('#encode then decode', () => {
    it('gives back any list of valid packets for any chunking (FrameDecoder + JSON_CODEC)', () => {
      fc.assert(
        fc.property(fc.array(packetArb, { maxLength: 12 }), cutsArb, (packets, cuts) => {
          expect(decodeChunks(split(wire(packets), cuts))).to.deep.equal(packets);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('gives back any list of valid packets for any chunking (Rx operators)', () => {
      fc.assert(
        fc.property(fc.array(packetArb, { maxLength: 12 }), cutsArb, (packets, cuts) => {
          let bytes: Uint8Array[] = [];
          from(packets)
            .pipe(encodePackets(), encodeFrames(), toArray())
            .subscribe((frames) => (bytes = frames));
          const chunks = split(Buffer.concat(bytes), cuts);
          expect(decodeChunksRx(chunks)).to.deep.equal({ packets });
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('frames text and bytes identically', () => {
      fc.assert(
        fc.property(packetArb, (packet) => {
          expect(encodeTextFrame(JSON_CODEC.encodeText(packet))).to.deep.equal(encodeFrame(JSON_CODEC.encode(packet)));
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('decodes the same frames however the bytes are chunked, including one byte at a time', () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), cutsArb, (payloads, cuts) => {
          const bytes = Buffer.concat(payloads.map((p) => encodeFrame(p)));
          const hex = (list: Uint8Array[]): string[] => list.map((p) => Buffer.from(p).toString('hex'));
          const decode = (chunks: Uint8Array[]): Uint8Array[] => {
            const decoder = new FrameDecoder(64);
            const out: Uint8Array[] = [];
            for (const chunk of chunks) decoder.push(chunk, (p) => out.push(Buffer.from(p)));
            decoder.end();
            return out;
          };
          const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
          expect(hex(decode(split(bytes, cuts)))).to.deep.equal(hex(payloads));
          expect(hex(decode(bytewise))).to.deep.equal(hex(payloads));
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  describe('#decode of arbitrary bytes', () => {
    it('never throws anything but a PnetworkError (FrameDecoder + JSON_CODEC)', () => {
      fc.assert(
        fc.property(streamArb, cutsArb, fc.integer({ min: 0, max: 128 }), (bytes, cuts, maxFrameBytes) => {
          try {
            decodeChunks(split(bytes, cuts), maxFrameBytes);
          } catch (err) {
            expect(err).to.be.instanceOf(PnetworkError);
            expect((err as PnetworkError).code).to.match(/^ERR_(FRAME|PACKET)_/);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('never throws anything but a PnetworkError for raw fc.uint8Array input', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), cutsArb, (bytes, cuts) => {
          try {
            decodeChunks(split(bytes, cuts));
          } catch (err) {
            expect(err).to.be.instanceOf(PnetworkError);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('never decodes a payload on its own into anything but a packet or a PnetworkError', () => {
      fc.assert(
        fc.property(payloadArb, (payload) => {
          let packet: Packet | undefined;
          try {
            packet = JSON_CODEC.decode(payload);
          } catch (err) {
            expect(err).to.be.instanceOf(PnetworkError);
            return;
          }
          expect(packet.action).to.be.a('string');
          expect(Object.keys(packet).every((key) => ['action', 'data', 'packet-created', 'token', 'id'].includes(key))).to.equal(
            true,
          );
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('never ends the Rx stream with anything but a PnetworkError', () => {
      fc.assert(
        fc.property(streamArb, cutsArb, fc.integer({ min: 0, max: 128 }), (bytes, cuts, maxFrameBytes) => {
          const result = decodeChunksRx(split(bytes, cuts), maxFrameBytes);
          if ('error' in result) expect(result.error).to.be.instanceOf(PnetworkError);
          else expect(result.packets).to.be.an('array');
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('agrees between FrameDecoder + JSON_CODEC and the Rx operators', () => {
      fc.assert(
        fc.property(streamArb, cutsArb, (bytes, cuts) => {
          const chunks = split(bytes, cuts);
          let direct: { packets?: Packet[]; error?: unknown };
          try {
            direct = { packets: decodeChunks(chunks, 64) };
          } catch (error) {
            direct = { error };
          }
          const rx = decodeChunksRx(chunks, 64);
          if ('error' in direct) {
            expect((rx.error as PnetworkError | undefined)?.code).to.equal((direct.error as PnetworkError).code);
          } else {
            expect(rx).to.deep.equal(direct);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });
});
