import { expect } from 'chai';
import { map, of, pipe } from 'rxjs';
import { decryptPacket, encryptPacket } from '../../lib/crypto/sealed-packet.js';
import { DecryptionError, InvalidKeyError, PacketError } from '../../lib/errors.js';
import { decryptPackets } from '../../lib/operators/decrypt-packets.js';
import { encryptPackets } from '../../lib/operators/encrypt-packets.js';
import type { Packet } from '../../lib/protocol/packet.js';
import { fixtureKeys } from '../helpers/keys.js';
import { countingSource, standardBattery } from '../helpers/operator-battery.js';
import { testScheduler } from '../helpers/scheduler.js';

const alice = fixtureKeys('alice');
const bob = fixtureKeys('bob');
const CHAT: Packet = { action: 'chat', data: { text: 'héllo' }, 'packet-created': 1, token: null };
const REQUEST: Packet = { action: 'sum', data: [1, 2], 'packet-created': 2, token: 'tok', id: 9 };
const SEALED_CHAT = encryptPacket(CHAT, alice.publicKey);
const SEALED_REQUEST = encryptPacket(REQUEST, alice.publicKey);

describe('operators/encryptPackets', () => {
  it('seals each packet for the key, hiding action and data', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a--b-|', { a: CHAT, b: REQUEST });
      const envelope = source.pipe(
        encryptPackets(alice.publicKey),
        map((sealed) => ({ action: sealed.action, kid: sealed.data.kid, id: sealed.id, readable: JSON.stringify(sealed).includes('héllo') })),
      );
      expectObservable(envelope).toBe('-x--y-|', {
        x: { action: 'sealed', kid: alice.fingerprint, id: undefined, readable: false },
        y: { action: 'sealed', kid: alice.fingerprint, id: 9, readable: false },
      });
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('seals what the forge back end opens', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const opened = cold('-a-|', { a: CHAT }).pipe(
        encryptPackets(alice.publicKey),
        map((sealed) => decryptPacket(sealed, alice.privateKey, { backend: 'forge' })),
      );
      expectObservable(opened).toBe('-a-|', { a: CHAT });
    });
  });

  it('errors with PacketError and unsubscribes the source on a packet it cannot seal', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-a-|', { a: CHAT, b: { ...CHAT, 'packet-created': 0.5 } });
      expectObservable(source.pipe(encryptPackets(alice.publicKey), map((sealed) => sealed.action))).toBe(
        '-s-#',
        { s: 'sealed' },
        new PacketError('ERR_PACKET_FIELD_TYPE', 'a sealed packet needs an integer packet-created'),
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('errors with InvalidKeyError on subscription, without subscribing the source, for a key that is not RSA', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-|', { a: CHAT });
      expectObservable(source.pipe(encryptPackets('nonsense'))).toBe('#', {}, new InvalidKeyError('not an RSA public key'));
      expectSubscriptions(source.subscriptions).toBe([]);
    });
  });

  describe('battery (sealed, then opened to compare)', () => {
    standardBattery(() => pipe(encryptPackets(alice.publicKey), map((sealed) => decryptPacket(sealed, alice.privateKey))), {
      a: CHAT,
      b: REQUEST,
      A: CHAT,
      B: REQUEST,
    });
  });
});

describe('operators/decryptPackets', () => {
  it('opens each sealed packet to the original', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a--b-|', { a: SEALED_CHAT, b: SEALED_REQUEST });
      expectObservable(source.pipe(decryptPackets(alice.privateKey))).toBe('-A--B-|', { A: CHAT, B: REQUEST });
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('opens with the forge back end too', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-|', { a: SEALED_REQUEST }).pipe(decryptPackets(alice.privateKey, { backend: 'forge' }))).toBe('-A-|', { A: REQUEST });
    });
  });

  it('round-trips a pipeline of encryptPackets then decryptPackets', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const source = hot('--a-b-a--|', { a: CHAT, b: REQUEST });
      expectObservable(source.pipe(encryptPackets(alice.publicKey), decryptPackets(alice.privateKey))).toBe('--a-b-a--|', { a: CHAT, b: REQUEST });
    });
  });

  it('errors with DecryptionError and unsubscribes the source on a plain packet', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-a-|', { a: SEALED_CHAT, b: CHAT });
      expectObservable(source.pipe(decryptPackets(alice.privateKey))).toBe(
        '-A-#',
        { A: CHAT },
        new DecryptionError('malformed sealed packet: action is not "sealed"'),
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('errors with DecryptionError on a packet sealed for another key', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-|', { a: SEALED_CHAT });
      expectObservable(source.pipe(decryptPackets(bob.privateKey))).toBe('-#', {}, new DecryptionError('sealed packet is for another key'));
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('errors with DecryptionError on a tampered packet', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tampered = { ...SEALED_CHAT, 'packet-created': 2 };
      expectObservable(cold('-a-|', { a: tampered }).pipe(decryptPackets(alice.privateKey))).toBe('-#', {}, new DecryptionError());
    });
  });

  it('errors with InvalidKeyError on subscription for a public key', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-|', { a: SEALED_CHAT });
      expectObservable(source.pipe(decryptPackets(alice.publicKey))).toBe('#', {}, new InvalidKeyError('not an RSA private key'));
      expectSubscriptions(source.subscriptions).toBe([]);
    });
  });

  it('stops a synchronous source at the first packet that does not open', () => {
    const { source, pulled } = countingSource([CHAT], 1000);
    let error: unknown;
    source.pipe(decryptPackets(alice.privateKey)).subscribe({ error: (err: unknown) => (error = err) });
    expect(error).to.be.instanceOf(DecryptionError);
    expect(pulled()).to.equal(1);
  });

  it('keeps no state between subscriptions', () => {
    const operator = decryptPackets(alice.privateKey);
    const results: Packet[] = [];
    of(SEALED_CHAT).pipe(operator).subscribe((packet) => results.push(packet));
    of(SEALED_REQUEST).pipe(operator).subscribe((packet) => results.push(packet));
    expect(results).to.deep.equal([CHAT, REQUEST]);
  });

  describe('battery', () => {
    standardBattery(() => decryptPackets(alice.privateKey), { a: SEALED_CHAT, b: SEALED_REQUEST, A: CHAT, B: REQUEST });
  });
});
