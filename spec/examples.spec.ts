import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { childEnv } from './helpers/child-env.js';
import { requireEngine } from './helpers/engines.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DEADLINE_MS = 20_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs one example as its own process, from the repository root, as the docs tell readers to. */
function runExample(file: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: DEADLINE_MS, env: childEnv() }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, signal: error?.signal ?? null, stdout, stderr });
    });
  });
}

/** The example's stdout, one entry per line. */
const lines = (run: Run): string[] => run.stdout.split('\n').filter((line) => line.length > 0);

/** Asserts a clean exit and exactly the expected output. */
function expectOutput(run: Run, expected: string[]): void {
  expect(run.signal, `killed (deadline ${DEADLINE_MS} ms?); stderr:\n${run.stderr}`).to.equal(null);
  expect(run.code, `exit code; stderr:\n${run.stderr}`).to.equal(0);
  expect(lines(run)).to.deep.equal(expected);
}

describe('examples', function () {
  this.timeout(DEADLINE_MS + 5_000);

  it('quick-start.ts sends a packet, gets a sum and stops both sides', async () => {
    expectOutput(await runExample('examples/quick-start.ts'), [
      'server: hello from quick-start',
      'client: 1 + 2 = 3',
      'stopped',
    ]);
  });

  it('secure-channel.ts pins the server key, talks over the channel and refuses a wrong pin', async () => {
    expectOutput(await runExample('examples/secure-channel.ts'), [
      'client: heard: only we can read this',
      'security: channel, server key pinned: true',
      'wrong pin: ERR_SERVER_KEY_MISMATCH',
      'stopped',
    ]);
  });

  it('connections.ts builds and sends packets, hands handlers the packet and connection, finds a client by token', async () => {
    expectOutput(await runExample('examples/connections.ts'), [
      'built: chat {"text":"hi"} token=null',
      'a client joined (connection 16 hex digits, token hidden)',
      'token: string, 36 characters',
      'chat: hi (token matches its connection: true)',
      'chat: hi again (token matches its connection: true)',
      'server handled 2 chats',
      'client got: only for you',
      'unknown token: undefined',
      'server handled 2 chats',
      'ofAction saw 3 chat packets',
      'disconnect$: closed by peer: client stopping',
      'left: closed by peer: client stopping, packets in: 7',
    ]);
  });

  it('errors.ts sends ReplyError codes to the peer, keeps other handler failures local, and names connections on error$', async () => {
    expectOutput(await runExample('examples/errors.ts'), [
      'withdraw: ok',
      'server error$: ERR_HANDLER (connection named: true, address: true)',
      'withdraw: the server said APP_LIMIT: limit is 100',
      'server error$: ERR_HANDLER (connection named: true, address: true)',
      'report: the server said ERR_HANDLER: handler for "report" failed',
      'handshake: failed locally with ERR_RESERVED_ACTION',
      'ReplyError without a code: ReplyError code must be a non-empty string',
      'bad option: port must be an integer from 0 to 65535, got 70000',
    ]);
  });

  it('reconnect.ts comes back after a dropped connection with a new token and sends its offline queue in order', async () => {
    expectOutput(await runExample('examples/reconnect.ts'), [
      'state: closed',
      'state: connecting',
      'state: connected',
      'state: reconnecting',
      'attempt 1 in 50 ms',
      'lost the server: closed by peer: rebalancing',
      'queued while away: 2, client writable: false',
      'state: connected',
      'new token: true',
      'server got: one, two',
      'state: closed',
    ]);
  });

  it('encryption.ts saves and loads keys, pins a TLS 1.3 server, refuses a wrong pin, and relays a sealed packet', async () => {
    expectOutput(await runExample('examples/encryption.ts'), [
      'fingerprint: 44 base64 characters',
      'loaded the same key: true',
      'alice encrypted: true',
      'wrong pin: ERR_TLS_PIN_MISMATCH',
      'bob opened: note {"text":"for Bob only"}',
      'another key: ERR_DECRYPTION',
    ]);
  });

  it('backpressure.ts paces a fast producer by writable and drained(), and accepts an unpaced burst whole', async () => {
    expectOutput(await runExample('examples/backpressure.ts'), [
      'sent 2000 rows, waiting for the socket more than once',
      'largest backlog under twice the mark: true',
      'server received: 2000',
      'unpaced burst: backlog over 16 MiB: true, writable: false',
      'server received: 4000',
    ]);
  });

  it('console.ts runs console commands from a script on a server and stops it at the end of input', async () => {
    expectOutput(await runExample('examples/console.ts'), [
      "chat-server: type 'help' for commands, 'quit' or Ctrl-D to leave",
      'chat-server (listening)> ACTION  HITS',
      'chat       0',
      'broadcast news to 1 client',
      'chat-server stopped',
      'client got: from the console',
    ]);
  });

  it('scaling.ts makes two servers on one MemoryBus act as one: broadcast, sendTo, requestClient, fetchClients', async () => {
    expectOutput(await runExample('examples/scaling.ts'), [
      "broadcast from b: 1 of b's own clients; ann got hi, bob got hi",
      'ann got whisper: psst',
      'ann, asked from b: 1 + 2 = 3',
      'clients of the cluster: 2, on 2 nodes',
    ]);
  });

  it('limits.ts reaches the offline queue, action length, packet rate, connection and frame limits, each with its code', async () => {
    expectOutput(await runExample('examples/limits.ts'), [
      'offline queue of 2: queued, queued, ERR_QUEUE_FULL (local)',
      'long action: ERR_PACKET_ACTION_TOO_LONG (from the server)',
      'long action as a request: ERR_REQUEST_TIMEOUT (local)',
      'still connected: yes',
      'burst of 8: 5 answered, then ERR_RATE_LIMITED (from the server)',
      'second client: ERR_CONNECTION_LIMIT (from the server)',
      '2 KiB packet: ERR_FRAME_TOO_LARGE (local)',
      '2 KiB to the server: ERR_FRAME_TOO_LARGE (from the server), then connection closed by peer',
    ]);
  });

  it('bind-class.ts handles actions with Bind subclasses', async () => {
    expectOutput(await runExample('examples/bind-class.ts'), [
      'TestAction: hello from a Bind subclass',
      'multiply: 42',
      'echo: shout: hi',
    ]);
  });

  it('broadcast.ts reaches every client, one client by token, and a filtered set', async () => {
    expectOutput(await runExample('examples/broadcast.ts'), [
      'clients connected: 3',
      'broadcast delivered to 3 clients',
      'alice got news: pnetwork 0.1 released (own token: true)',
      'bob got news: pnetwork 0.1 released (own token: true)',
      'carol got news: pnetwork 0.1 released (own token: true)',
      'bob got whisper: only for bob',
      'filtered broadcast delivered to 2 clients',
      'alice: closed by peer: maintenance',
      'bob: closed by peer: maintenance',
      'carol: closed by peer: maintenance',
    ]);
  });

  it('typed-actions.ts types both directions and reports errors and timeouts', async () => {
    expectOutput(await runExample('examples/typed-actions.ts'), [
      'sum: 5',
      'server error$: ERR_HANDLER',
      'divide failed: APP_DIVIDE_BY_ZERO: division by zero',
      'server error$: ERR_NO_HANDLER',
      'unbound failed: ERR_NO_HANDLER',
      'slow failed: ERR_REQUEST_TIMEOUT after 50 ms',
      'chat pair: HI + HOW ARE YOU',
      'chat pair: FINE + BYE',
      'client says it is: typed client',
    ]);
  });

  it('node-cluster.ts makes two node:cluster workers on one port act as one through Redis', async function () {
    await requireEngine(this, 'redis');
    expectOutput(await runExample('examples/node-cluster.ts'), [
      'workers: 2, one port: true',
      'clients connected: 6, on 2 workers',
      'a broadcast from worker 1 reached 6 of 6 clients',
      'worker 1 to a client of worker 2: {"from":"worker 1"}',
      'stopped',
    ]);
  });

  it('streams-price-feed.ts streams prices, cancels with take(3), and paces a slow consumer by demand', async () => {
    expectOutput(await runExample('examples/streams-price-feed.ts'), [
      'first three: 101, 101.25, 101.5',
      'feed stopped after the cancel',
      'slow consumer got: 101, 101.25, 101.5, 101.75, 102',
    ]);
  });

  it('streams-upload.ts uploads a slow generator and a large array, each answered once', async () => {
    expectOutput(await runExample('examples/streams-upload.ts'), ['slow upload: 10 readings, sum 55', 'bulk upload: 100000 readings, sum 450000']);
  });

  it('streams-chat.ts talks to a slow bot over a channel; each side completes on its own', async () => {
    expectOutput(await runExample('examples/streams-chat.ts'), [
      'bot: hello!',
      'bot: you said "hi"',
      'bot: you said "how are you?"',
      'bot: you said "see you"',
      'bot: bye!',
    ]);
  });

  it('auth-chat.ts admits by token, refuses the rest, talks in rooms and kicks with a reason', async () => {
    expectOutput(await runExample('examples/auth-chat.ts'), [
      'connected: ann, bob',
      'mallory refused: ERR_UNAUTHORIZED (connection refused)',
      'cy refused: ERR_BANNED (this account is banned)',
      "bob's rooms: lobby, rust, user:bob",
      "ann's lobby message reached 1",
      'bob heard in lobby: ann: hi all',
      "ann's rust message reached 1",
      'bob: closed by peer: flooding (state closed)',
      'rooms now: lobby=1 user:ann=1',
    ]);
  });
});
