import { expect } from 'chai';
import { ChannelProtocolError, ClientKeyRefusedError, DecryptionError } from '../../lib/errors.js';
import { CONTENT_CLIENT_AUTH } from '../../lib/crypto/channel/constants.js';
import { RecordOpener, RecordSealer } from '../../lib/crypto/channel/records.js';
import { openRecords } from '../../lib/operators/open-records.js';
import { sealRecords } from '../../lib/operators/seal-records.js';
import { standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';
import { firstValueFrom, from, toArray } from 'rxjs';

const SECRET = Buffer.alloc(32, 3);

/** Record bodies 0, 1, 2… of one direction, sealed in order from the given contents. */
function sealed(...contents: Array<string | { type: number; content: string }>): Buffer[] {
  const sealer = new RecordSealer(SECRET, 1000);
  return contents.map((item) => {
    const record = typeof item === 'string' ? sealer.seal(Buffer.from(item)) : sealer.sealRecord(item.type, Buffer.from(item.content));
    return record.subarray(4);
  });
}

const open = (clientAuth?: (content: Buffer) => void) => openRecords({ opener: () => new RecordOpener(SECRET), ...(clientAuth ? { clientAuth } : {}) });

describe('operators/openRecords', () => {
  const [r0, r1] = sealed('ab', 'cd');
  standardBattery(() => open(), { a: r0!, b: r1!, A: Buffer.from('ab'), B: Buffer.from('cd') });

  it('emits each data record\'s content in order and passes over a key update', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // A sealer that updates its key after every record: 'two' follows a key-update record.
      const sealer = new RecordSealer(SECRET, 1);
      const first = sealer.seal(Buffer.from('one')).subarray(4);
      const updateThenTwo = sealer.seal(Buffer.from('two'));
      const update = updateThenTwo.subarray(4, 4 + updateThenTwo.readUInt32BE(0));
      const two = updateThenTwo.subarray(8 + update.length);
      const source = cold('-a-u-b-|', { a: first, u: update, b: two });
      expectObservable(source.pipe(open())).toBe('-a---b-|', { a: Buffer.from('one'), b: Buffer.from('two') });
    });
  });

  it('errors with DecryptionError on a changed record and emits nothing of it, then stops reading', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const [a, b] = sealed('fine', 'changed');
      const flipped = Buffer.from(b!);
      flipped[0]! ^= 1;
      const source = cold('-a-b-c-|', { a: a!, b: flipped, c: a! });
      expectObservable(source.pipe(open())).toBe('-a-#', { a: Buffer.from('fine') }, new DecryptionError('record 1 failed authentication'));
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('errors on a replayed record (the counter is implicit)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const [a] = sealed('once');
      expectObservable(cold('-a-a-|', { a: a! }).pipe(open())).toBe('-a-#', { a: Buffer.from('once') }, new DecryptionError('record 1 failed authentication'));
    });
  });

  it('on the server, hands the first record to clientAuth and refuses a first record of another type', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const [auth, data] = sealed({ type: CONTENT_CLIENT_AUTH, content: 'who' }, 'hi');
      expectObservable(cold('-a-b-|', { a: auth!, b: data! }).pipe(open(() => undefined))).toBe('---b-|', { b: Buffer.from('hi') });
      const [plain] = sealed('hi');
      expectObservable(cold('-a-|', { a: plain! }).pipe(open(() => undefined))).toBe('-#', {}, new ChannelProtocolError("the client's first record has type 2, not client auth"));
    });
    const seen: string[] = [];
    const [auth, data] = sealed({ type: CONTENT_CLIENT_AUTH, content: 'who' }, 'hi');
    from([auth!, data!]).pipe(open((content) => void seen.push(content.toString()))).subscribe();
    expect(seen).to.deep.equal(['who']);
  });

  it('errors with what clientAuth throws, before any data is emitted', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const [auth, data] = sealed({ type: CONTENT_CLIENT_AUTH, content: '' }, 'hi');
      const refused = new ClientKeyRefusedError(null);
      expectObservable(cold('-a-b-|', { a: auth!, b: data! }).pipe(open(() => { throw refused; }))).toBe('-#', {}, refused);
    });
  });

  it('refuses a client-auth record where none is expected, and an unknown record type', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const [auth] = sealed({ type: CONTENT_CLIENT_AUTH, content: '' });
      expectObservable(cold('-a-|', { a: auth! }).pipe(open())).toBe('-#', {}, new ChannelProtocolError('unexpected record type 1'));
      const [odd] = sealed({ type: 9, content: '' });
      expectObservable(cold('-a-|', { a: odd! }).pipe(open())).toBe('-#', {}, new ChannelProtocolError('unexpected record type 9'));
    });
  });
});

describe('operators/sealRecords', () => {
  const seal = () => sealRecords(() => new RecordSealer(SECRET, 1000));
  const [r0, r1] = [new RecordSealer(SECRET, 1000)].flatMap((sealer) => [sealer.seal(Buffer.from('ab')), sealer.seal(Buffer.from('cd'))]);
  standardBattery(seal, { a: Buffer.from('ab'), b: Buffer.from('cd'), A: r0!, B: r1! });

  it('seals what openRecords opens, with a fresh counter for each subscription', async () => {
    const source = from([Buffer.from('x'), Buffer.from('y')]);
    const first = await firstValueFrom(source.pipe(seal(), toArray()));
    const second = await firstValueFrom(source.pipe(seal(), toArray()));
    expect(first).to.deep.equal(second);
    const opened = await firstValueFrom(from(first.map((record) => record.subarray(4))).pipe(open(), toArray()));
    expect(opened.map((chunk) => chunk.toString())).to.deep.equal(['x', 'y']);
  });
});
