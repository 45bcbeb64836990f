import { expect } from 'chai';
import { MAX_FRAME, encodeFrame, frameReader } from '../../bench/systems/net-framing.js';

/** Feeds `bytes` to a fresh reader in the given pieces; returns the texts and errors it reported. */
function read(pieces: Buffer[]): { texts: string[]; errors: string[] } {
  const texts: string[] = [];
  const errors: string[] = [];
  const feed = frameReader(
    (text) => texts.push(text),
    (error) => errors.push(error.message),
  );
  for (const piece of pieces) feed(piece);
  return { texts, errors };
}

describe('bench node:net floors: frame reader', () => {
  const messages = ['{"a":1}', '{"action":"é","data":"x"}', 'x'.repeat(300)];
  const stream = Buffer.concat(messages.map(encodeFrame));

  it('reads back every frame when the stream is split in two at any byte', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { texts, errors } = read([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(errors, `cut at ${cut}`).to.deep.equal([]);
      expect(texts, `cut at ${cut}`).to.deep.equal(messages);
    }
  });

  it('reads back every frame when the stream arrives one byte at a time', () => {
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(read(bytes).texts).to.deep.equal(messages);
  });

  it('reports a declared length past the limit before buffering, and reads nothing after it', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_FRAME + 1, 0);
    const { texts, errors } = read([header.subarray(0, 2), header.subarray(2), encodeFrame('{}')]);
    expect(errors).to.deep.equal([`frame of ${MAX_FRAME + 1} bytes exceeds ${MAX_FRAME}`]);
    expect(texts).to.deep.equal([]);
  });
});
