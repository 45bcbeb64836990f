import { interval } from 'rxjs';
import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { Server } from '../../lib/server.js';
import type { ConsoleClient, ConsoleServer } from '../../lib/cli/instance.js';
import { until, withDeadline } from '../helpers/wait.js';
import { ConsoleHarness, WAIT_MS } from './console-harness.js';
import { VirtualClock } from '../helpers/virtual-clock.js';

// The console only needs this much of Server and Client; the real classes must fit it.
const _serverFits: (server: Server) => ConsoleServer = (server) => server;
const _clientFits: (client: Client) => ConsoleClient = (client) => client;

describe('CLI (server console)', () => {
  let server: Server;
  let clients: Client[];
  let harness: ConsoleHarness | null;

  async function connectClient(): Promise<Client> {
    const client = new Client({ port: server.address().port });
    clients.push(client);
    await client.start();
    return client;
  }

  async function open(displayName?: string): Promise<ConsoleHarness> {
    harness = new ConsoleHarness(server, displayName);
    await harness.ready();
    return harness;
  }

  beforeEach(async () => {
    clients = [];
    harness = null;
    server = new Server({ port: 0 });
    server.bindAction('echo', (data: unknown) => data);
    await server.start();
  });

  afterEach(async () => {
    if (harness) await harness.cli.close();
    await Promise.all(clients.map((client) => client.stop()));
    await server.stop();
  });

  it('shows the display name and "listening" in the prompt', async () => {
    const h = await open('chat');
    expect(h.text).to.match(/chat \(listening\)> $/);
  });

  it('defaults the display name to "server"', async () => {
    const h = await open();
    expect(h.text).to.match(/server \(listening\)> $/);
  });

  it('returns the same promise from a second processCommand()', async () => {
    const h = await open();
    expect(h.cli.processCommand()).to.equal(h.done);
  });

  it('runs one line with execute() and resolves close() once stopped', async () => {
    const h = await open();
    const from = h.text.length;
    await h.cli.execute('actions');
    // The prompt was showing, so the output starts on a fresh line.
    expect(h.text.slice(from)).to.match(/^\nACTION\s+HITS\necho\s+0\n$/);
    await withDeadline(h.cli.close(), WAIT_MS, 'close()');
    harness = null;
    expect(server.listening).to.equal(false);
  });

  it('status counts the streams open on every connection', async () => {
    server.bindAction('ticks', () => interval(20));
    const client = await connectClient();
    const h = await open();
    expect(await h.run('status')).to.match(/^streams\s+0$/m);
    const subscriptions = [client.stream('ticks', null).subscribe(), client.stream('ticks', null).subscribe()];
    await until(() => [...server.clients.values()][0]!.openStreams === 2, WAIT_MS, 'two open streams');
    expect(await h.run('status')).to.match(/^streams\s+2$/m);
    for (const subscription of subscriptions) subscription.unsubscribe();
  });

  describe('help', () => {
    it('lists every server command', async () => {
      const out = await (await open()).run('help');
      for (const name of ['help', 'status', 'clients', 'send', 'broadcast', 'kick', 'actions', 'log', 'stop', 'quit']) {
        expect(out).to.match(new RegExp(`^  ${name}\\b`, 'm'));
      }
    });

    it('explains one command', async () => {
      const out = await (await open()).run('help send');
      expect(out).to.include('usage: send <client> <action> [json]');
    });

    it('suggests a command for a typo in its argument', async () => {
      const out = await (await open()).run('help clints');
      expect(out.trim()).to.equal("unknown command 'clints' — did you mean 'clients'?");
    });
  });

  describe('status', () => {
    it('shows address, uptime, clients and rates', async () => {
      await connectClient();
      const h = await open();
      const out = await h.run('status');
      expect(out).to.match(/^state\s+listening$/m);
      expect(out).to.match(new RegExp(`^address\\s+127\\.0\\.0\\.1:${server.address().port}$`, 'm'));
      expect(out).to.match(/^uptime\s+\d+s$/m);
      expect(out).to.match(/^clients\s+1$/m);
      expect(out).to.match(/^packets\/s\s+in \d+\.\d\s+out \d+\.\d$/m);
      expect(out).to.match(/^bytes\/s\s+in \d+/m);
    });

    it('computes rates from the change in server.stats(), on the clock it is given', async () => {
      const client = await connectClient();
      const clock = new VirtualClock();
      const h = new ConsoleHarness(server, undefined, { sampleIntervalMs: 60_000, scheduler: clock });
      harness = h;
      await h.ready();
      for (let i = 0; i < 5; i++) await client.sendPacket('echo', i);
      await until(() => server.stats().packetsIn >= 5, WAIT_MS, 'five packets');
      expect(/^packets\/s\s+in (\d+\.\d)/m.exec(await h.run('status'))?.[1], 'no time has passed on its clock').to.equal('0.0');
      clock.advance(2000);
      const out = await h.run('status');
      const rate = /^packets\/s\s+in (\d+\.\d)/m.exec(out);
      expect(Number(rate?.[1]), 'five packets (and more: the handshake) over two seconds').to.be.at.least(2.5);
      const total = /^total\s+in (\d+) packets/m.exec(out);
      expect(Number(total?.[1])).to.be.at.least(5);
    });
  });

  describe('clients', () => {
    it('says so when nobody is connected', async () => {
      expect(await (await open()).run('clients')).to.include('no clients connected');
    });

    it('lists public ids, addresses, rooms, subjects, time connected and packets in an aligned table', async () => {
      const a = await connectClient();
      const b = await connectClient();
      const ca = server.clients.get(a.token!)!;
      ca.join('lobby');
      ca.join('games');
      ca.subject = 'ann';
      const out = await (await open()).run('clients');
      const lines = out.trimEnd().split('\n');
      expect(lines[0]).to.match(/^ID\s+ADDRESS\s+ROOMS\s+SUBJECT\s+CONNECTED\s+IN\s+OUT$/);
      expect(lines).to.have.length(3);
      const rowOf = (client: Client): string | undefined => lines.find((line) => line.startsWith(server.clients.get(client.token!)!.id));
      expect(rowOf(a), 'a row per client').to.match(/^[0-9a-f]{16}\s+127\.0\.0\.1:\d+\s+games,lobby\s+ann\s+\d+s\s+\d+\s+\d+$/);
      expect(rowOf(b), 'a row per client').to.match(/^[0-9a-f]{16}\s+127\.0\.0\.1:\d+\s+-\s+-\s+\d+s\s+\d+\s+\d+$/);
      // No part of a token, and never the auth value.
      for (const client of [a, b]) expect(out).not.to.include(client.token!.slice(0, 8));
      // Aligned: every row's ADDRESS column starts where the header's does.
      const column = lines[0]!.indexOf('ADDRESS');
      for (const line of lines.slice(1)) expect(line.indexOf('127.0.0.1')).to.equal(column);
    });

    it('shows full tokens only with --full-token', async () => {
      const a = await connectClient();
      const h = await open();
      expect(await h.run('clients --full-token')).to.include(a.token!);
      expect(await h.run('clients --bogus')).to.include('usage: clients [--full-token]');
    });
  });

  describe('send', () => {
    it('sends to a client picked by short id prefix', async () => {
      const client = await connectClient();
      const got = new Promise<unknown>((resolve) => client.bindAction('greet', (data: unknown) => void resolve(data)));
      const id = server.clients.get(client.token!)!.id;
      const out = await (await open()).run(`send ${id.slice(0, 4)} greet {"text": "hi there"}`);
      expect(out.trim()).to.equal(`sent greet to ${id}`);
      expect(await withDeadline(got, WAIT_MS, 'greet')).to.deep.equal({ text: 'hi there' });
    });

    it('sends to a client picked by full token, with null data by default', async () => {
      const client = await connectClient();
      const got = new Promise<unknown>((resolve) => client.bindAction('ping-me', (data: unknown) => void resolve(data)));
      await (await open()).run(`send ${client.token!} ping-me`);
      expect(await withDeadline(got, WAIT_MS, 'ping-me')).to.equal(null);
    });

    it('explains malformed JSON in one line', async () => {
      const client = await connectClient();
      const out = await (await open()).run(`send ${server.clients.get(client.token!)!.id} greet {text: 1}`);
      expect(out.trim().split('\n')).to.have.length(1);
      expect(out).to.match(/^malformed JSON at column 2 .*property names need double quotes/);
    });

    it('reports an unknown client and a missing action', async () => {
      const h = await open();
      expect((await h.run('send zzzzzzzz greet')).trim()).to.equal("no client 'zzzzzzzz' — 'clients' lists them");
      expect((await h.run('send zzzz')).trim()).to.equal('usage: send <client> <action> [json]');
    });

    it('a pasted line far longer than any command gets a short answer, not its own text back', async () => {
      const out = await (await open()).run('s'.repeat(200_000));
      expect(out.trim()).to.match(/^unknown command 'sss+…' — type 'help' for a list$/);
      expect(out.length).to.be.below(200);
    });

    it('picks a client by a prefix of its short id only, never by a prefix of its secret token', async () => {
      const client = await connectClient();
      const id = server.clients.get(client.token!)!.id;
      // A prefix of the token that is no prefix of the id.
      let prefix = client.token!.slice(0, 6);
      for (let n = 6; id.startsWith(prefix) && n < 30; n++) prefix = client.token!.slice(0, n);
      const out = await (await open()).run(`send ${prefix} greet`);
      expect(out.trim()).to.equal(`no client '${prefix}' — 'clients' lists them`);
    });

    it('reports an ambiguous prefix', async () => {
      await connectClient();
      await connectClient();
      const out = await (await open()).run('send  "" greet');
      // An empty-ish prefix cannot pick one client; any shared prefix works the same way.
      expect(out).to.match(/no client|matches 2 clients/);
    });

    it('reports a library error with its code and without a stack', async () => {
      const client = await connectClient();
      const out = await (await open()).run(`send ${server.clients.get(client.token!)!.id} ping`);
      expect(out.trim()).to.equal('error ERR_RESERVED_ACTION: "ping" is a reserved action name');
    });
  });

  describe('broadcast', () => {
    it('sends to every client and says how many', async () => {
      const received: unknown[] = [];
      for (let i = 0; i < 2; i++) (await connectClient()).bindAction('news', (data: unknown) => void received.push(data));
      const out = await (await open()).run('broadcast news [1,2,3]');
      expect(out.trim()).to.equal('broadcast news to 2 clients');
      await until(() => received.length === 2, WAIT_MS, 'both clients to get news');
      expect(received).to.deep.equal([[1, 2, 3], [1, 2, 3]]);
    });
  });

  describe('kick', () => {
    it('closes the connection with the reason given', async () => {
      const client = await connectClient();
      const token = client.token!;
      const connection = server.clients.get(token)!;
      const reasons: string[] = [];
      const sub = client.disconnect$.subscribe((reason) => reasons.push(reason));
      const out = await (await open()).run(`kick ${connection.id.slice(0, 6)} too noisy`);
      expect(out.trim()).to.equal(`kicked ${connection.id}`);
      expect(await withDeadline(connection.closed, WAIT_MS, 'the close')).to.equal('too noisy');
      await until(() => server.getClient(token) === undefined, WAIT_MS, 'the client to leave');
      // The reason arrives at the client, which then reconnects after its backoff.
      await until(() => reasons.length === 1, WAIT_MS, 'the reason at the client');
      sub.unsubscribe();
      expect(reasons).to.deep.equal(['closed by peer: too noisy']);
      await until(() => client.state === 'connected', WAIT_MS, 'the client to come back');
    });

    it('with --no-retry tells the client not to reconnect', async () => {
      const client = await connectClient();
      const connection = server.clients.get(client.token!)!;
      const out = await (await open()).run(`kick --no-retry ${connection.id} banned for spam`);
      expect(out.trim()).to.equal(`kicked ${connection.id} (told not to reconnect)`);
      await until(() => client.state === 'closed', WAIT_MS, 'the client to stay away');
      expect(server.clients.size).to.equal(0);
    });
  });

  describe('rooms', () => {
    it('lists rooms with their member counts', async () => {
      const h = await open();
      expect((await h.run('rooms')).trim()).to.equal('no rooms');
      const a = await connectClient();
      const b = await connectClient();
      server.clients.get(a.token!)!.join('lobby');
      server.clients.get(b.token!)!.join('lobby');
      server.clients.get(b.token!)!.join('muted\u001b[2J');
      const lines = (await h.run('rooms')).trimEnd().split('\n');
      expect(lines[0]).to.match(/^ROOM\s+MEMBERS$/);
      expect(lines.slice(1).map((line) => line.split(/\s+/).join(' '))).to.deep.equal(['lobby 2', 'muted?[2J 1']);
    });
  });

  describe('status refusals', () => {
    it('shows handshakes refused by code', async () => {
      const h = await open();
      expect(await h.run('status')).to.match(/refusals\s+none/);
      server.use((_connection, auth) => {
        if (auth !== 'ok') throw new Error('no');
      });
      const refused = new Client({ port: server.address().port, auth: 'bad' });
      await refused.start().catch(() => undefined);
      await refused.stop();
      expect(await h.run('status')).to.match(/refusals\s+ERR_UNAUTHORIZED 1/);
    });
  });

  describe('actions', () => {
    it('lists bound actions with hit counts', async () => {
      server.bindAction('chat', () => undefined);
      const client = await connectClient();
      await client.request('echo', 1);
      await client.request('echo', 2);
      const out = await (await open()).run('actions');
      expect(out).to.match(/^ACTION\s+HITS$/m);
      expect(out).to.match(/^chat\s+0$/m);
      expect(out).to.match(/^echo\s+2$/m);
    });
  });

  describe('log', () => {
    it('prints incoming packets live, without tokens, and stops on "log off"', async () => {
      const client = await connectClient();
      const h = await open();
      expect((await h.run('log on')).trim()).to.equal('log is on for every action');
      const from = h.text.length;
      await client.sendPacket('hello', { x: 1 });
      const out = await h.waitFor(/hello \{"x":1\}/, from);
      expect(out).to.include(`${server.clients.get(client.token!)!.id} 127.0.0.1:`);
      expect(out).not.to.include(client.token!);
      expect((await h.run('log off')).trim()).to.equal('log is off');
      const after = h.text.length;
      await client.sendPacket('quiet', 1);
      await client.request('echo', 'sync'); // the echo request arrives after quiet
      await until(() => server.boundActions().get('echo') === 1, WAIT_MS, 'the echo');
      expect(h.text.slice(after)).not.to.include('quiet');
    });

    it('shows peer-controlled action names and data with terminal controls replaced, never raw', async () => {
      const client = await connectClient();
      const h = await open();
      await h.run('log on');
      const from = h.text.length;
      await client.sendPacket('evil\u001b[2J\u009b31m', { text: 'x\u007f\u202ey' });
      const out = await h.waitFor(/evil/, from);
      expect(out).not.to.match(/[\u001b\u007f\u009b\u202e]/); // eslint-disable-line no-control-regex
    });

    it('logs only the listed actions', async () => {
      const client = await connectClient();
      const h = await open();
      expect((await h.run('log on b')).trim()).to.equal('log is on for b');
      const from = h.text.length;
      await client.sendPacket('a', 1);
      await client.sendPacket('b', 2);
      await h.waitFor(/ b 2/, from);
      expect(h.text.slice(from)).not.to.match(/ a 1/);
    });

    it('caps the log at 20 lines a second and summarises the rest', async () => {
      const client = await connectClient();
      const h = await open();
      await h.run('log on');
      const from = h.text.length;
      for (let i = 0; i < 50; i++) void client.sendPacket('flood', i);
      const out = await h.waitFor('… 30 more packets not shown', from);
      expect(out.match(/flood \d+/g)).to.have.length(20);
    });

    it('rejects a bad mode with the usage', async () => {
      expect((await (await open()).run('log maybe')).trim()).to.equal('usage: log on|off [action…]');
    });
  });

  describe('errors', () => {
    it('answers an unknown command with a suggestion', async () => {
      expect((await (await open()).run('stauts')).trim()).to.equal("unknown command 'stauts' — did you mean 'status'?");
    });

    it('answers a command nothing resembles with a pointer to help', async () => {
      expect((await (await open()).run('xyzzy')).trim()).to.equal("unknown command 'xyzzy' — type 'help' for a list");
    });

    it('ignores empty lines', async () => {
      expect(await (await open()).run('   ')).to.equal('');
    });
  });

  describe('leaving', () => {
    for (const command of ['stop', 'quit']) {
      it(`'${command}' stops the server gracefully and resolves processCommand`, async () => {
        const client = await connectClient();
        const h = await open();
        h.input.write(`${command}\n`);
        await withDeadline(h.done, WAIT_MS, 'processCommand');
        harness = null;
        expect(server.listening).to.equal(false);
        await until(() => client.state !== 'connected', WAIT_MS, 'the client to lose its connection');
        expect(h.text).to.include('server stopped');
      });
    }

    it('Ctrl-D (end of input) runs the typed commands, then stops the server', async () => {
      const h = await open();
      h.input.end('status\n');
      await withDeadline(h.done, WAIT_MS, 'processCommand');
      harness = null;
      expect(h.text).to.match(/^address/m);
      expect(server.listening).to.equal(false);
    });

    it('Ctrl-C (SIGINT on a terminal) stops the server', async () => {
      const h = new ConsoleHarness(server, undefined, { terminal: true });
      harness = h;
      await until(() => h.text.includes('(listening)> '), WAIT_MS, 'the prompt');
      h.input.write('\x03');
      await withDeadline(h.done, WAIT_MS, 'processCommand');
      harness = null;
      expect(server.listening).to.equal(false);
    });

    it('quits when its output fails (a closed pipe)', async () => {
      const h = await open();
      h.output.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      await withDeadline(h.done, WAIT_MS, 'processCommand');
      harness = null;
      expect(server.listening).to.equal(false);
    });

    it('drops commands typed after quit', async () => {
      const h = await open();
      h.input.write('quit\nstatus\n');
      await withDeadline(h.done, WAIT_MS, 'processCommand');
      harness = null;
      expect(h.text).not.to.match(/^address/m);
    });
  });

  describe('terminal', () => {
    it('completes command names, actions and client ids on Tab', async () => {
      const client = await connectClient();
      const h = new ConsoleHarness(server, undefined, { terminal: true });
      harness = h;
      await until(() => h.text.includes('(listening)> '), WAIT_MS, 'the prompt');
      let from = h.text.length;
      h.input.write('sta\t');
      await h.waitFor('status', from);
      h.input.write('\x15'); // Ctrl-U clears the line
      from = h.text.length;
      const id = server.clients.get(client.token!)!.id;
      h.input.write(`send ${id.slice(0, 3)}\t`);
      await h.waitFor(id, from);
      from = h.text.length;
      h.input.write(' ec\t');
      await h.waitFor('echo', from);
    });

    it('recalls history with the up arrow', async () => {
      const h = new ConsoleHarness(server, undefined, { terminal: true });
      harness = h;
      await until(() => h.text.includes('(listening)> '), WAIT_MS, 'the prompt');
      h.input.write('actions\r');
      await h.waitFor(/echo\s+0/);
      const from = h.text.length;
      h.input.write('\x1b[A\r');
      await h.waitFor(/echo\s+0/, from);
    });

    it('colours output only when asked, through styleText', async () => {
      const h = new ConsoleHarness(server, undefined, { color: true });
      harness = h;
      await until(() => h.text.includes('> '), WAIT_MS, 'the prompt');
      expect(h.text).to.include('\u001b[1mserver\u001b[22m');
    });
  });
});
