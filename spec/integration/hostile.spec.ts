// Hostile peers against a live server. Each attack must meet a typed error on the server's error$, an
// `error` packet and a close exactly where docs/protocol.md says so, and leave every other client alone:
// a well-behaved client keeps round-tripping requests beside each attack.
//
// The server's timers run on a virtual clock: a connection that stalls is closed when the spec moves the
// clock, never because a loaded machine was slow.
import { expect } from 'chai';
import { PnetworkError, RemoteError, Server, type Connection } from '../../lib/index.js';
import { Bystander, ECHO_ACTION } from '../helpers/bystander.js';
import { RawClient, type WirePacket } from '../helpers/raw-client.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { deferred, until, withDeadline } from '../helpers/wait.js';
import { DEFAULTS, PROTOCOL_VERSION } from '../../lib/defaults.js';

const WAIT_MS = 20_000;
const FIRST_FRAME_LIMIT = DEFAULTS.maxHandshakeBytes;
const FRAME_LIMIT = DEFAULTS.maxFrameBytes;
/** The server's stalled-frame deadline: shorter than the handshake's, so a stalled first frame meets it first. */
const STALL_MS = 1000;
/** Handler invocations one connection may have in flight. */
const MAX_HANDLERS = 16;

describe('hostile input (integration)', function () {
  this.timeout(90_000);

  let clock: VirtualClock;
  let server: Server;
  let port: number;
  let bystander: Bystander;
  let serverErrors: PnetworkError[];
  /** Connections other than the bystander's that reached the echo handler. */
  let strayEchoes: string[];
  let raws: RawClient[];

  beforeEach(async () => {
    clock = new VirtualClock();
    // Heartbeats off: they are not under test here, and the clock moves only for handshake deadlines.
    server = new Server({ port: 0, scheduler: clock, heartbeatIntervalMs: 0, incompleteFrameTimeoutMs: STALL_MS, maxConcurrentHandlers: MAX_HANDLERS });
    serverErrors = [];
    strayEchoes = [];
    raws = [];
    server.error$.subscribe((error) => serverErrors.push(error));
    server.bindAction(ECHO_ACTION, (data: unknown, _packet, connection: Connection) => {
      if (connection.token !== bystander.client.token) strayEchoes.push(connection.token);
      return data;
    });
    server.bindAction('probe', () => 'alive');
    await server.start();
    port = server.address().port;
    bystander = await Bystander.connect(port);
  });

  afterEach(async () => {
    await bystander.stop();
    await bystander.client.stop();
    await Promise.all(raws.map((raw) => raw.destroy()));
    await server.stop();
  });

  /** Runs `attack` while the bystander round-trips, and checks it went unharmed throughout. */
  async function underAttack(what: string, attack: () => Promise<void>): Promise<void> {
    bystander.start();
    await bystander.roundTrips(1, `before ${what}`);
    await attack();
    await bystander.roundTrips(3, `after ${what}`);
    await bystander.stop();
    expect(bystander.harm(), what).to.equal(null);
    expect(server.getClient(bystander.client.token!), 'the bystander is still registered').to.not.equal(undefined);
    expect(strayEchoes, 'packets that should have been refused reached a handler').to.deep.equal([]);
    for (const error of serverErrors) expect(error, 'every error on error$ is typed').to.be.instanceOf(PnetworkError);
  }

  async function raw(): Promise<RawClient> {
    const client = await RawClient.connect(port, WAIT_MS);
    raws.push(client);
    return client;
  }

  async function shaken(): Promise<RawClient> {
    const client = await raw();
    await client.handshake(undefined, WAIT_MS);
    return client;
  }

  function errorFrames(client: RawClient): WirePacket[] {
    return client.frames.filter((frame) => frame.action === 'error');
  }

  function errorCodes(client: RawClient): string[] {
    return errorFrames(client).map((frame) => (frame.data as { code: string }).code);
  }

  function reported(code: string): number {
    return serverErrors.filter((error) => error.code === code).length;
  }

  /** The server answered with exactly one `error` packet (`code`, token null before the handshake) and closed. */
  async function refusedAndClosed(client: RawClient, code: string, what: string): Promise<void> {
    await client.waitClosed(WAIT_MS).catch(() => {
      throw new Error(`${what}: the server did not close the connection; frames: ${JSON.stringify(client.frames)}`);
    });
    expect(errorCodes(client), what).to.deep.equal([code]);
    expect(errorFrames(client)[0]!.token, `${what}: the error packet's token`).to.equal(client.token);
  }

  /** The `count`th error packet on `client` (1-based) has `code`; the connection is still open and served. */
  async function refusedAndOpen(client: RawClient, count: number, code: string, what: string, id?: number): Promise<void> {
    await until(() => errorFrames(client).length >= count || client.hasClosed, WAIT_MS, `${what}: error packet ${count}`);
    const frame = errorFrames(client)[count - 1];
    expect(frame, `${what}: no error packet ${count}; frames: ${JSON.stringify(client.frames)}`).to.not.equal(undefined);
    expect((frame!.data as { code: string }).code, what).to.equal(code);
    expect(frame!.id, `${what}: the error packet's id`).to.equal(id);
    expect(frame!.token, `${what}: the error packet's token`).to.equal(client.token);
    await probe(client, what);
  }

  let probeId = 1_000_000;
  /** A request on `client`'s own token is still answered: the connection is open and served. */
  async function probe(client: RawClient, what: string): Promise<void> {
    const id = probeId++;
    client.send('probe', null, { id });
    const reply = await client.waitFor((frame) => frame.id === id, `${what}: the probe reply`, WAIT_MS);
    expect(reply.action, what).to.equal('reply');
    expect(reply.data).to.equal('alive');
  }

  function frameHeader(length: number): Buffer {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length, 0);
    return header;
  }

  /** A request for `echo` as raw JSON text, so the spec controls every byte. */
  function echoText(token: string | null, id: number, data = '1'): string {
    return `{"action":"echo","data":${data},"packet-created":1,"token":${JSON.stringify(token)},"id":${id}}`;
  }

  describe('random bytes', () => {
    it('before the handshake: each connection gets the error packet its first frame calls for, and is closed', async () => {
      const random = seededRandom(9);
      const bytes = (count: number): Buffer => Buffer.from(Array.from({ length: count }, () => Math.floor(random() * 256)));
      const streams: Buffer[] = [];
      // Wholly random: the header almost surely declares more than the first-frame limit.
      for (let i = 0; i < 8; i++) streams.push(bytes(16 + Math.floor(random() * 2048)));
      // A small header and a whole random payload: a complete first frame that is no handshake.
      for (let i = 0; i < 6; i++) {
        const length = Math.floor(random() * 1000);
        streams.push(Buffer.concat([frameHeader(length), bytes(length)]));
      }
      // Less than a header, or a payload cut short: the first frame never completes.
      for (let i = 0; i < 3; i++) streams.push(bytes(1 + i));
      for (let i = 0; i < 3; i++) streams.push(Buffer.concat([frameHeader(500), bytes(100 * i)]));
      const expected = streams.map(firstFrameOutcome);
      expect(new Set(expected), 'the streams cover every outcome').to.have.lengthOf(3);

      await underAttack('random bytes before the handshake', async () => {
        const clients = await Promise.all(streams.map(() => raw()));
        clients.forEach((client, i) => client.sendRaw(streams[i]!));
        const stalled = clients.filter((_, i) => expected[i] === 'ERR_FRAME_TIMEOUT');
        for (const [i, client] of clients.entries()) {
          if (expected[i] !== 'ERR_FRAME_TIMEOUT') await refusedAndClosed(client, expected[i]!, `random stream ${i}`);
        }
        // The stalled ones wait for their stalled-frame deadline (and the handshake's): only the clock brings them.
        await until(() => clock.pending >= 2 * stalled.length, WAIT_MS, 'two deadlines for each stalled connection');
        expect(stalled.filter((client) => client.hasClosed)).to.deep.equal([]);
        await bystander.roundTrips(3, 'while stalled connections wait');
        clock.advance(STALL_MS);
        for (const [i, client] of stalled.entries()) await refusedAndClosed(client, 'ERR_FRAME_TIMEOUT', `stalled stream ${i}`);
        for (const code of new Set(expected)) expect(reported(code), code).to.equal(expected.filter((c) => c === code).length);
      });
    });

    it('after the handshake: a header over maxFrameBytes gets ERR_FRAME_TOO_LARGE and a close', async () => {
      const random = seededRandom(10);
      const streams = Array.from({ length: 6 }, () => Buffer.from(Array.from({ length: 64 + Math.floor(random() * 2048) }, () => Math.floor(random() * 256))));
      expect(streams.every((stream) => stream.readUInt32BE(0) > FRAME_LIMIT), 'this seed declares oversized frames').to.equal(true);
      await underAttack('random bytes after the handshake', async () => {
        const clients = await Promise.all(streams.map(() => shaken()));
        clients.forEach((client, i) => client.sendRaw(streams[i]!));
        for (const [i, client] of clients.entries()) await refusedAndClosed(client, 'ERR_FRAME_TOO_LARGE', `random stream ${i}`);
        expect(reported('ERR_FRAME_TOO_LARGE')).to.equal(streams.length);
      });
    });
  });

  it('a 4 GiB length prefix is refused from its header alone, before and after the handshake', async () => {
    await underAttack('4 GiB length prefixes', async () => {
      const before = await raw();
      const after = await shaken();
      const bigHeader = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b, 0x22]);
      before.sendRaw(bigHeader);
      after.sendRaw(bigHeader);
      await refusedAndClosed(before, 'ERR_FRAME_TOO_LARGE', 'before the handshake');
      await refusedAndClosed(after, 'ERR_FRAME_TOO_LARGE', 'after the handshake');
      const message = (errorFrames(after)[0]!.data as { message: string }).message;
      expect(message).to.contain('4294967295');
      expect(reported('ERR_FRAME_TOO_LARGE')).to.equal(2);
    });
  });

  it('a truncated frame then silence is closed with ERR_FRAME_TIMEOUT at its deadline, before and after the handshake', async () => {
    await underAttack('truncated frames', async () => {
      const before = await raw();
      const after = await shaken();
      before.sendRaw(Buffer.concat([frameHeader(88), Buffer.from('{"action":"hand')]));
      after.sendRaw(Buffer.concat([frameHeader(100), Buffer.from(echoText(after.token, 1)).subarray(0, 30)]));
      // Deadlines: the stalled frame's on each, and the handshake's on the first.
      await until(() => clock.pending >= 3, WAIT_MS, 'the stalled-frame deadlines');
      await bystander.roundTrips(3, 'while two frames stall');
      clock.advance(STALL_MS - 1);
      expect(reported('ERR_FRAME_TIMEOUT'), 'timed out before the deadline').to.equal(0);
      clock.advance(1);
      await refusedAndClosed(before, 'ERR_FRAME_TIMEOUT', 'a stalled handshake frame');
      await refusedAndClosed(after, 'ERR_FRAME_TIMEOUT', 'a stalled request frame');
      expect(reported('ERR_FRAME_TIMEOUT')).to.equal(2);
      // Each connection's close timeout is cancelled once the server has seen its socket close.
      await until(() => clock.pending === 0, WAIT_MS, 'no deadline left behind');
    });
  });

  it('invalid UTF-8 is refused with ERR_PACKET_UTF8 and the connection stays open; as the first packet it closes', async () => {
    const invalid = [
      [0xff], // never valid
      [0xc0, 0x80], // overlong NUL
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x82], // a sequence cut short
    ].map((sequence) => Buffer.from(sequence));
    await underAttack('invalid UTF-8', async () => {
      const client = await shaken();
      for (const [i, sequence] of invalid.entries()) {
        const [head, tail] = echoText(client.token, i + 1, '"@"').split('@') as [string, string];
        client.sendFrame(Buffer.concat([Buffer.from(head), sequence, Buffer.from(tail)]));
        await refusedAndOpen(client, i + 1, 'ERR_PACKET_UTF8', `sequence ${sequence.toString('hex')}`);
      }
      expect(reported('ERR_PACKET_UTF8')).to.equal(invalid.length);

      const first = await raw();
      const [head, tail] = '{"action":"handshake","data":{"protocol":1,"name":"@"},"packet-created":1,"token":null}'.split('@') as [string, string];
      first.sendFrame(Buffer.concat([Buffer.from(head), invalid[0]!, Buffer.from(tail)]));
      await refusedAndClosed(first, 'ERR_HANDSHAKE_REQUIRED', 'invalid UTF-8 in the handshake');
    });
  });

  it('JSON nested 100,000 deep is refused with ERR_PACKET_TOO_DEEP and the connection stays open', async () => {
    const depth = 100_000;
    const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    await underAttack('deep nesting', async () => {
      const client = await shaken();
      client.sendFrame(echoText(client.token, 1, arrays));
      await refusedAndOpen(client, 1, 'ERR_PACKET_TOO_DEEP', 'arrays 100,000 deep');
      client.sendFrame(echoText(client.token, 2, objects));
      await refusedAndOpen(client, 2, 'ERR_PACKET_TOO_DEEP', 'objects 100,000 deep');
      expect(reported('ERR_PACKET_TOO_DEEP')).to.equal(2);

      // In a handshake (which must fit the 64 KiB first-frame limit): refused, then closed.
      const first = await raw();
      const nested = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
      first.sendFrame(`{"action":"handshake","data":{"protocol":1,"x":${nested}},"packet-created":1,"token":null}`);
      await refusedAndClosed(first, 'ERR_HANDSHAKE_REQUIRED', 'a deeply nested handshake');
    });
  });

  describe('__proto__, constructor and prototype', () => {
    it('as packet keys: refused with ERR_PACKET_UNKNOWN_KEY, the connection stays open', async () => {
      await underAttack('prototype keys in the packet', async () => {
        const client = await shaken();
        for (const [i, key] of ['__proto__', 'constructor', 'prototype'].entries()) {
          const text = echoText(client.token, i + 1).replace(/}$/, `,"${key}":{"polluted":"yes"}}`);
          client.sendFrame(text);
          await refusedAndOpen(client, i + 1, 'ERR_PACKET_UNKNOWN_KEY', `key ${key}`);
        }
        expect(reported('ERR_PACKET_UNKNOWN_KEY')).to.equal(3);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      });
    });

    it('in data: delivered as plain own properties, and no prototype is polluted', async () => {
      let seen: { keys: string[]; plain: boolean; polluted: unknown } | null = null;
      server.bindAction('inspect', (data: Record<string, unknown>) => {
        seen = { keys: Object.keys(data).sort(), plain: Object.getPrototypeOf(data) === Object.prototype, polluted: ({} as Record<string, unknown>).polluted };
        return data;
      });
      await underAttack('prototype keys in data', async () => {
        const client = await shaken();
        const data = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}';
        client.sendFrame(`{"action":"inspect","data":${data},"packet-created":1,"token":${JSON.stringify(client.token)},"id":7}`);
        const reply = await client.waitFor((frame) => frame.id === 7, 'the inspect reply', WAIT_MS);
        expect(reply.action).to.equal('reply');
        expect(seen).to.deep.equal({ keys: ['__proto__', 'constructor', 'prototype'], plain: true, polluted: undefined });
        // The reply carries the same three keys back, as plain data.
        expect(Object.keys(reply.data as object).sort()).to.deep.equal(['__proto__', 'constructor', 'prototype']);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
        expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).to.equal(false);
      });
    });

    it('as action names: answered with ERR_NO_HANDLER like any unbound action', async () => {
      const names = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
      await underAttack('prototype names as actions', async () => {
        const client = await shaken();
        for (const [i, action] of names.entries()) {
          client.send(action, null); // one-way: dropped without an answer
          client.send(action, null, { id: i + 1 });
        }
        for (const [i, action] of names.entries()) {
          const answer = await client.waitFor((frame) => frame.id === i + 1, `the answer for ${action}`, WAIT_MS);
          expect(answer.action, action).to.equal('error');
          expect((answer.data as { code: string }).code, action).to.equal('ERR_NO_HANDLER');
        }
        expect(errorFrames(client)).to.have.lengthOf(names.length);
        await probe(client, 'after the prototype names');
      });
    });

    it('in the handshake: a protocol hidden under __proto__ is no protocol, and the connection closes', async () => {
      await underAttack('a prototype key in the handshake', async () => {
        const client = await raw();
        client.sendFrame('{"action":"handshake","data":{"__proto__":{"protocol":1}},"packet-created":1,"token":null}');
        await refusedAndClosed(client, 'ERR_PROTOCOL_VERSION', 'protocol under __proto__');
      });
    });
  });

  it('a first packet that is not a handshake gets ERR_HANDSHAKE_REQUIRED and a close, and reaches no handler', async () => {
    const firsts = [
      echoText(null, 1),
      '{"action":"echo","data":1,"packet-created":1,"token":null}',
      '{"action":"ping","data":null,"packet-created":1,"token":null}',
      '{"action":"reply","data":null,"packet-created":1,"token":null,"id":1}',
      '{"action":"error","data":{"code":"ERR_X","message":"x"},"packet-created":1,"token":null}',
      '{"action":"closing","data":{"reason":"x"},"packet-created":1,"token":null}',
      '{"action":"handshake","data":{"protocol":1},"packet-created":1,"token":"a-token-of-my-own"}',
      '{"action":"handshake","data":null,"packet-created":1,"token":null}',
      '{"action":"handshake","data":[1],"packet-created":1,"token":null}',
      '[1,2,3]',
    ];
    await underAttack('first packets that are not handshakes', async () => {
      const clients = await Promise.all(firsts.map(() => raw()));
      clients.forEach((client, i) => client.sendFrame(firsts[i]!));
      for (const [i, client] of clients.entries()) await refusedAndClosed(client, 'ERR_HANDSHAKE_REQUIRED', firsts[i]!);
      expect(reported('ERR_HANDSHAKE_REQUIRED')).to.equal(firsts.length);
      expect(server.clients.size).to.equal(1);
    });
  });

  it('a second handshake is refused and changes nothing: same token, same registration, no second reply', async () => {
    await underAttack('second handshakes', async () => {
      const client = await shaken();
      const token = client.token!;
      client.sendPacket({ action: 'handshake', data: { protocol: 1 }, 'packet-created': 1, token, id: 5 });
      await refusedAndOpen(client, 1, 'ERR_RESERVED_ACTION', 'a second handshake with its own token', 5);
      client.sendPacket({ action: 'handshake', data: { protocol: 2 }, 'packet-created': 1, token });
      await refusedAndOpen(client, 2, 'ERR_RESERVED_ACTION', 'a second handshake asking for protocol 2');
      client.sendPacket({ action: 'handshake', data: { protocol: 1 }, 'packet-created': 1, token: null, id: 6 });
      await refusedAndOpen(client, 3, 'ERR_TOKEN_MISMATCH', 'a second handshake with a null token', 6);
      expect(client.frames.filter((frame) => frame.action === 'handshake')).to.have.lengthOf(1);
      expect(server.getClient(token)).to.not.equal(undefined);
      expect(server.clients.size).to.equal(2);
    });
  });

  it('spoofed tokens are refused with ERR_TOKEN_MISMATCH, reach no handler and no other client, and are never echoed', async () => {
    await underAttack('spoofed tokens', async () => {
      const attacker = await shaken();
      const other = await shaken();
      const own = attacker.token!;
      const victim = bystander.client.token!;
      const spoofs: Array<string | null> = [null, '', victim, other.token!, own.toUpperCase(), `${own} `, `x${own.slice(1)}`, own.slice(0, 8)];
      for (const [i, token] of spoofs.entries()) attacker.sendFrame(echoText(token, i + 1));
      for (const [i, token] of spoofs.entries()) {
        const answer = await attacker.waitFor((frame) => frame.id === i + 1, `the answer to spoof ${i}`, WAIT_MS);
        expect(answer.action, `spoof ${JSON.stringify(token)}`).to.equal('error');
        expect((answer.data as { code: string }).code).to.equal('ERR_TOKEN_MISMATCH');
        expect(answer.token, 'the error carries the attacker its own token').to.equal(own);
      }
      // One-way with the victim's token: refused without an id.
      attacker.sendPacket({ action: ECHO_ACTION, data: 1, 'packet-created': 1, token: victim });
      await refusedAndOpen(attacker, spoofs.length + 1, 'ERR_TOKEN_MISMATCH', 'a one-way packet with the victim token');
      // A token that is not even a string: a malformed packet.
      attacker.sendFrame('{"action":"echo","data":1,"packet-created":1,"token":5,"id":99}');
      await refusedAndOpen(attacker, spoofs.length + 2, 'ERR_PACKET_FIELD_TYPE', 'a numeric token');

      const secrets = [own, victim, other.token!];
      const messages = [...errorFrames(attacker).map((frame) => JSON.stringify(frame.data)), ...serverErrors.map((error) => error.message)];
      for (const message of messages) for (const secret of secrets) expect(message).to.not.contain(secret);
      expect(other.frames.map((frame) => frame.action), 'the other raw client received nothing').to.deep.equal(['handshake']);
      expect(reported('ERR_TOKEN_MISMATCH')).to.equal(spoofs.length + 1);
    });
  });

  it('a 1 MiB action name is refused without being echoed back; one past the frame limit closes', async () => {
    await underAttack('huge action names', async () => {
      const client = await shaken();
      const envelope = echoText(client.token, 1).replace('"echo"', '"@"');
      const action = 'a'.repeat(FRAME_LIMIT - envelope.length);
      const text = envelope.replace('@', action);
      expect(Buffer.byteLength(text)).to.equal(FRAME_LIMIT - 1);
      client.sendFrame(text);
      await refusedAndOpen(client, 1, 'ERR_PACKET_ACTION_TOO_LONG', 'a 1 MiB action name');
      expect(JSON.stringify(errorFrames(client)[0]).length, 'the error packet is small').to.be.below(1024);
      expect(serverErrors.at(-1)!.message.length, 'the reported error is small').to.be.below(1024);

      const over = await shaken();
      over.sendFrame(envelope.replace('@', 'a'.repeat(FRAME_LIMIT)));
      await refusedAndClosed(over, 'ERR_FRAME_TOO_LARGE', 'an action past the frame limit');
    });
  });

  it('1,000 silent connections cost the others nothing and each gets ERR_HANDSHAKE_TIMEOUT at its deadline', async () => {
    const count = 1000;
    await underAttack('1,000 silent connections', async () => {
      const silent: RawClient[] = [];
      for (let batch = 0; batch < count / 100; batch++) silent.push(...(await Promise.all(Array.from({ length: 100 }, () => raw()))));
      await until(() => clock.pending >= count, WAIT_MS, 'a handshake deadline for every silent connection');
      await bystander.roundTrips(3, 'while 1,000 silent connections are open');
      expect(silent.filter((client) => client.hasClosed)).to.have.lengthOf(0);
      clock.advance(DEFAULTS.handshakeTimeoutMs);
      await until(() => silent.every((client) => client.hasClosed), 60_000, 'every silent connection to be closed');
      for (const client of silent) expect(errorCodes(client)).to.deep.equal(['ERR_HANDSHAKE_TIMEOUT']);
      expect(reported('ERR_HANDSHAKE_TIMEOUT')).to.equal(count);
      // Each connection's close timeout is cancelled once the server has seen its socket close.
      await until(() => clock.pending === 0, WAIT_MS, 'no deadline left behind');
    });
  });

  it('connect-and-reset loops leave nothing behind', async () => {
    const rounds = 10;
    const perRound = 40;
    let registeredLeft = 0;
    server.disconnect$.subscribe(() => registeredLeft++);
    await underAttack('connect-and-reset loops', async () => {
      let handshaken = 0;
      for (let round = 0; round < rounds; round++) {
        await Promise.all(
          Array.from({ length: perRound }, async (_, i) => {
            const client = await RawClient.connect(port, WAIT_MS);
            switch (i % 4) {
              case 0: // reset at once
                break;
              case 1: // half a handshake frame, then reset
                client.sendRaw(Buffer.from([0, 0, 0, 88, 0x7b, 0x22]));
                break;
              case 2: // a full handshake, then reset
                await client.handshake(undefined, WAIT_MS);
                handshaken++;
                break;
              default: // a full handshake, half a request, then reset
                await client.handshake(undefined, WAIT_MS);
                handshaken++;
                client.sendRaw(Buffer.from(echoText(client.token, 1)).subarray(0, 20));
            }
            await client.reset();
          }),
        );
      }
      // Every reset connection is gone: none still registered, no handshake deadline still pending.
      await until(() => registeredLeft === handshaken && server.clients.size === 1 && clock.pending === 0, WAIT_MS, 'every reset connection to be dropped');
      expect(handshaken).to.equal((rounds * perRound) / 2);
    });
  });

  it('error packets whose code and message are not text settle what they answer, are reported, and keep the connection', async () => {
    await underAttack('error packets with fields that are not text', async () => {
      const client = await raw();
      client.sendPacket({ action: 'handshake', data: { protocol: PROTOCOL_VERSION, streams: true }, 'packet-created': 1, token: null });
      const welcome = await client.waitFor((frame) => frame.action === 'handshake', 'the handshake reply', WAIT_MS);
      client.token = (welcome.data as { token: string }).token;
      await until(() => server.getClient(client.token!) !== undefined, WAIT_MS, 'the raw client to be registered');
      const connection = server.getClient(client.token)!;
      // JSON.parse makes these plain objects whose toString is not a function: String() of them throws.
      const unprintable = { code: { toString: 1 }, message: { toString: 1, valueOf: 1 } };

      client.send('error', unprintable);
      await until(() => reported('ERR_REMOTE') === 1, WAIT_MS, 'the unmatched error packet to be reported');

      const asked = connection.request('question', null).catch((err: unknown) => err);
      const question = await client.waitFor((frame) => frame.action === 'question', 'the request', WAIT_MS);
      client.send('error', unprintable, { id: question.id });
      const answer = await withDeadline(asked, WAIT_MS, 'the request answered with the error packet');
      expect(answer).to.be.instanceOf(RemoteError);
      expect((answer as RemoteError).remoteCode).to.equal('ERR_REMOTE');

      const ended = new Promise<unknown>((resolve) => connection.stream('feed', null).subscribe({ error: resolve, complete: () => resolve('complete') }));
      const open = await client.waitFor((frame) => frame.action === 'feed', 'the stream open', WAIT_MS);
      client.sendPacket({ action: 'stream-error', data: unprintable, 'packet-created': 1, token: client.token, stream: open.stream });
      expect(await withDeadline(ended, WAIT_MS, 'the stream ended by the error packet')).to.be.instanceOf(RemoteError);
      await probe(client, 'after the error packets');
    });
  });

  it('a request flood to a slow handler runs at most maxConcurrentHandlers at once, holds up no one else, and is answered once each', async () => {
    const flood = 2000;
    const release = deferred();
    let inFlight = 0;
    let maxInFlight = 0;
    server.bindAction('slow', async (n: number) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await release.promise;
      inFlight--;
      return n;
    });
    await underAttack('a request flood to a slow handler', async () => {
      const client = await shaken();
      const requests = Array.from({ length: flood }, (_, i) => {
        const body = Buffer.from(JSON.stringify({ action: 'slow', data: i + 1, 'packet-created': 1, token: client.token, id: i + 1 }));
        return Buffer.concat([frameHeader(body.length), body]);
      });
      client.sendRaw(Buffer.concat(requests));
      await until(() => inFlight === MAX_HANDLERS, WAIT_MS, 'the slow handler to fill its limit');
      await bystander.roundTrips(3, 'while the slow handler holds the flood');
      expect(inFlight, 'no more than the limit, however long the flood waits').to.equal(MAX_HANDLERS);
      release.resolve();
      await until(() => client.frames.length >= 1 + flood, WAIT_MS, 'an answer to every request');
      const answers = client.frames.slice(1);
      expect(answers.every((frame) => frame.action === 'reply' && frame.data === frame.id)).to.equal(true);
      expect(new Set(answers.map((frame) => frame.id)).size).to.equal(flood);
      expect(maxInFlight).to.equal(MAX_HANDLERS);
      // In order, too: a paused and resumed socket keeps its packets in sequence.
      expect(answers.map((frame) => frame.id)).to.deep.equal(Array.from({ length: flood }, (_, i) => i + 1));
    });
  });
});

/** What the server must answer to a stream of bytes sent as the start of a connection. */
function firstFrameOutcome(stream: Buffer): string {
  // Part of a frame (header included) that stops: the stalled-frame deadline.
  if (stream.length < 4) return 'ERR_FRAME_TIMEOUT';
  const length = stream.readUInt32BE(0);
  if (length > FIRST_FRAME_LIMIT) return 'ERR_FRAME_TOO_LARGE';
  if (stream.length < 4 + length) return 'ERR_FRAME_TIMEOUT';
  // Random bytes are never a valid handshake: malformed, or well-formed and something else.
  return 'ERR_HANDSHAKE_REQUIRED';
}
