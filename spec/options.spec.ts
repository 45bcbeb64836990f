import { expect } from 'chai';
import { Client } from '../lib/client.js';
import { DEFAULTS } from '../lib/defaults.js';
import { resolveCommonOptions } from '../lib/options.js';
import { Server } from '../lib/server.js';

describe('options', () => {
  describe('#resolveCommonOptions', () => {
    it('fills every option from DEFAULTS', () => {
      const resolved = resolveCommonOptions({});
      expect(resolved).to.include({
        host: DEFAULTS.host,
        port: DEFAULTS.port,
        maxFrameBytes: DEFAULTS.maxFrameBytes,
        maxHandshakeBytes: DEFAULTS.maxHandshakeBytes,
        heartbeatIntervalMs: DEFAULTS.heartbeatIntervalMs,
        heartbeatTimeoutMs: DEFAULTS.heartbeatTimeoutMs,
        requestTimeoutMs: DEFAULTS.requestTimeoutMs,
      });
    });

    it('accepts heartbeatIntervalMs 0 as "no pings"', () => {
      expect(resolveCommonOptions({ heartbeatIntervalMs: 0 }).heartbeatIntervalMs).to.equal(0);
    });

    for (const [name, value] of [
      ['heartbeatTimeoutMs', 0],
      ['heartbeatTimeoutMs', Number.NaN],
      ['heartbeatIntervalMs', -1],
      ['requestTimeoutMs', 2 ** 31],
      ['handshakeTimeoutMs', Number.POSITIVE_INFINITY],
      ['closeTimeoutMs', -5],
      ['sendStallTimeoutMs', 2 ** 31],
      ['port', 70_000],
      ['port', 1.5],
      ['maxFrameBytes', -1],
      ['maxActionLength', 0],
      ['maxDepth', 0],
    ] as const) {
      it(`refuses ${name}: ${value} with a RangeError naming it`, () => {
        expect(() => resolveCommonOptions({ [name]: value })).to.throw(RangeError, name);
      });
    }
  });

  // Failed before: these client options skipped the delay check, and Node fires a longer timer after 1 ms.
  for (const name of ['queuedPacketTtlMs', 'reconnectDelayMaxMs', 'reconnectDelayMs'] as const) {
    it(`makes Client refuse ${name} over 2^31 − 1 ms with a RangeError naming it`, () => {
      expect(() => new Client({ [name]: 2 ** 31 })).to.throw(RangeError, name);
    });
  }

  it('accepts the documented special values: Infinity for queuedPacketTtlMs, 0 for reconnect delays', () => {
    expect(() => new Client({ queuedPacketTtlMs: Number.POSITIVE_INFINITY, reconnectDelayMs: 0, reconnectDelayMaxMs: 0 })).not.to.throw();
    expect(() => new Client({ queuedPacketTtlMs: 0 })).to.throw(RangeError, 'queuedPacketTtlMs');
  });

  it('makes Server and Client constructors refuse bad options at once', () => {
    expect(() => new Server({ heartbeatTimeoutMs: 0 })).to.throw(RangeError, 'heartbeatTimeoutMs');
    expect(() => new Client({ reconnectJitter: 2 })).to.throw(RangeError, 'reconnectJitter');
    expect(() => new Client({ maxQueuedPackets: -1 })).to.throw(RangeError);
  });

  // Failed before: the messages named the backoff's own fields, quoted nothing, and host 12 was taken.
  it('names the option the user wrote and shows a string as a string', () => {
    expect(() => new Client({ reconnectAttempts: -1 })).to.throw(RangeError, /^reconnectAttempts must be/);
    expect(() => new Client({ reconnectJitter: 2 })).to.throw(RangeError, /^reconnectJitter must be/);
    expect(() => new Client({ port: '80' as unknown as number })).to.throw(RangeError, 'got "80"');
    expect(() => new Server({ host: 12 as unknown as string })).to.throw(RangeError, /^host must be a non-empty string, got 12/);
    expect(() => new Client({ host: '' })).to.throw(RangeError, /^host must be/);
  });

  it('makes a request with an unusable timeout reject with a RangeError', async () => {
    const server = new Server({ port: 0 });
    await server.start();
    const client = new Client({ port: server.address().port });
    await client.start();
    try {
      const err = await client.request('x', null, { timeoutMs: Number.NaN }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RangeError);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
