import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { expect } from 'chai';
import { Client, Server } from '../../lib/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { fixtureKeys } from '../helpers/keys.js';
import { connect as tlsConnect } from 'node:tls';
import { selfSignedCertificate } from '../../lib/crypto/certificate.js';

/** Real timers, but a clock that reads a fixed time: every `packet-created` must come from it. */
function fixedClock(now: number): SchedulerLike {
  return { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'] };
}

describe('the injected scheduler is the only clock', () => {
  const SERVER_NOW = 1_111_000;
  const CLIENT_NOW = 2_222_000;
  let server: Server;

  beforeEach(async () => {
    server = new Server({ port: 0, scheduler: fixedClock(SERVER_NOW), heartbeatIntervalMs: 0 });
    server.bindAction('echo', (data: unknown) => data);
    server.bindAction('fail', () => {
      throw new Error('no');
    });
    await server.start();
  });

  afterEach(() => server.stop());

  it('stamps packet-created on every packet the server builds: handshake, reply, error, push, closing', async () => {
    const raw = await RawClient.connect(server.address().port);
    await raw.handshake();
    raw.send('echo', 1, { token: raw.token, id: 1 });
    raw.send('fail', 1, { token: raw.token, id: 2 });
    await raw.waitFor((frame) => frame.id === 2, 'the error reply');
    await server.broadcast('news', 'x');
    await raw.waitFor((frame) => frame.action === 'news', 'the broadcast');
    const stopping = server.stop('bye');
    await raw.waitFor((frame) => frame.action === 'closing', 'the closing packet');
    await raw.destroy();
    await stopping;
    expect(raw.frames.map((frame) => [frame.action, frame['packet-created']])).to.deep.equal([
      ['handshake', SERVER_NOW],
      ['reply', SERVER_NOW],
      ['error', SERVER_NOW],
      ['news', SERVER_NOW],
      ['closing', SERVER_NOW],
    ]);
    expect(server.createPacket('x', null)['packet-created']).to.equal(SERVER_NOW);
  });

  it('stamps packet-created on a rate-limit refusal', async () => {
    const limited = new Server({ port: 0, scheduler: fixedClock(SERVER_NOW), heartbeatIntervalMs: 0, maxPacketsPerSecond: 1 });
    limited.bindAction('note', () => undefined);
    await limited.start();
    try {
      const raw = await RawClient.connect(limited.address().port);
      await raw.handshake();
      for (let i = 0; i < 3; i++) raw.send('note', i, { token: raw.token });
      const refusal = await raw.waitFor((frame) => frame.action === 'error', 'the rate-limit refusal');
      expect([(refusal.data as { code: string }).code, refusal['packet-created']]).to.deep.equal(['ERR_RATE_LIMITED', SERVER_NOW]);
      await raw.destroy();
    } finally {
      await limited.stop();
    }
  });

  it('stamps packet-created on refusals made before any pipeline: the connection limit, a plain client at an encrypted server, a TLS client without a certificate', async () => {
    const limited = new Server({ port: 0, scheduler: fixedClock(SERVER_NOW), heartbeatIntervalMs: 0, maxConnections: 1 });
    const encrypted = new Server({ port: 0, scheduler: fixedClock(SERVER_NOW), encryption: { keys: fixtureKeys('alice') } });
    const tlsKeys = fixtureKeys('bob');
    const tlsCert = selfSignedCertificate(tlsKeys);
    const tlsOnly = new Server({ port: 0, scheduler: fixedClock(SERVER_NOW), tls: { keys: { ...tlsKeys, certificate: tlsCert }, authorizedKeys: [fixtureKeys('alice').fingerprint] } });
    await limited.start();
    await encrypted.start();
    await tlsOnly.start();
    try {
      const first = await RawClient.connect(limited.address().port);
      await first.handshake();
      const refused = await RawClient.connect(limited.address().port);
      await refused.closed;
      const plain = await RawClient.connect(encrypted.address().port);
      plain.send('handshake', { protocol: 1 });
      await plain.closed;
      await first.destroy();
      // A TLS client without a certificate at a server that asks for one.
      const bytes = await new Promise<Buffer>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: tlsOnly.address().port, ca: [tlsCert], checkServerIdentity: () => undefined });
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
      const tlsRefusal = JSON.parse(bytes.subarray(4, 4 + bytes.readUInt32BE(0)).toString('utf8')) as { data: { code: string }; 'packet-created': number };
      expect([...refused.frames, ...plain.frames, tlsRefusal].map((frame) => [(frame.data as { code: string }).code, frame['packet-created']])).to.deep.equal([
        ['ERR_CONNECTION_LIMIT', SERVER_NOW],
        ['ERR_CHANNEL_REQUIRED', SERVER_NOW],
        ['ERR_TLS_CLIENT_UNAUTHORIZED', SERVER_NOW],
      ]);
    } finally {
      await limited.stop();
      await encrypted.stop();
      await tlsOnly.stop();
    }
  });

  it('stamps packet-created on every packet the client builds, and times its connection by it', async () => {
    const seen: unknown[] = [];
    server.bindAction('note', (_data: unknown, packet) => void seen.push(packet['packet-created']));
    const client = new Client({ port: server.address().port, scheduler: fixedClock(CLIENT_NOW), reconnect: false });
    await client.start();
    await client.sendPacket('note', null);
    await client.request('echo', 'x');
    expect(seen).to.deep.equal([CLIENT_NOW]);
    expect(client.createPacket('x', null)['packet-created']).to.equal(CLIENT_NOW);
    expect(client.connection?.connectedAt).to.equal(CLIENT_NOW);
    expect(client.stats().startedAt).to.equal(CLIENT_NOW);
    await client.stop();
  });
});
