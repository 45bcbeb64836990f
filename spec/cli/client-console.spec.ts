import { finalize, interval, range } from 'rxjs';
import { expect } from 'chai';
import { Client } from '../../lib/client.js';
import { Server } from '../../lib/server.js';
import { until, withDeadline } from '../helpers/wait.js';
import { ConsoleHarness, WAIT_MS } from './console-harness.js';

describe('CLI (client console)', () => {
  let server: Server;
  let client: Client;
  let harness: ConsoleHarness | null;

  async function open(displayName?: string): Promise<ConsoleHarness> {
    harness = new ConsoleHarness(client, displayName);
    await harness.ready();
    return harness;
  }

  beforeEach(async () => {
    harness = null;
    server = new Server({ port: 0 });
    server.bindAction('echo', (data: unknown) => data);
    server.bindAction('fail', () => {
      throw new Error('nope');
    });
    await server.start();
    client = new Client({ port: server.address().port });
    await client.start();
  });

  afterEach(async () => {
    if (harness) await harness.cli.close();
    await client.stop();
    await server.stop();
  });

  it('shows the display name and client.state in the prompt', async () => {
    const h = await open('alice');
    expect(h.text).to.match(/alice \(connected\)> $/);
  });

  it('defaults the display name to "client"', async () => {
    expect((await open()).text).to.match(/client \(connected\)> $/);
  });

  it('help lists every client command', async () => {
    const out = await (await open()).run('help');
    for (const name of ['help', 'status', 'send', 'request', 'stream', 'log', 'reconnect', 'quit']) {
      expect(out).to.match(new RegExp(`^  ${name}\\b`, 'm'));
    }
    expect(out).not.to.match(/^ {2}(kick|broadcast|clients)\b/m);
  });

  it('status shows state, server address, the public connection id (no part of the token) and rates', async () => {
    const out = await (await open()).run('status');
    expect(out).to.match(/^state\s+connected$/m);
    expect(out).to.match(new RegExp(`^server\\s+127\\.0\\.0\\.1:${server.address().port}$`, 'm'));
    expect(out).to.match(new RegExp(`^id\\s+${client.connection!.id}$`, 'm'));
    expect(out).not.to.include(client.token!.slice(0, 8));
    expect(out).to.match(/^packets\/s\s+in \d+\.\d\s+out \d+\.\d$/m);
  });

  describe('send', () => {
    it('sends a one-way packet', async () => {
      const got = new Promise<unknown>((resolve) => server.bindAction('hello', (data: unknown) => void resolve(data)));
      const out = await (await open()).run('send hello {"x": 1}');
      expect(out.trim()).to.equal('sent hello');
      expect(await withDeadline(got, WAIT_MS, 'hello')).to.deep.equal({ x: 1 });
    });

    it('explains malformed JSON in one line', async () => {
      const out = await (await open()).run("send hello {'x': 1}");
      expect(out.trim()).to.match(/^malformed JSON at column 2 .*double quotes/);
      expect(out.trim().split('\n')).to.have.length(1);
    });

    it('shows the usage when the action is missing', async () => {
      expect((await (await open()).run('send')).trim()).to.equal('usage: send <action> [json]');
    });
  });

  describe('stream', () => {
    it('prints each value as it arrives, then the completion', async () => {
      server.bindAction('count', (n: number) => range(1, n));
      const out = await (await open()).run('stream count 3');
      expect(out.trim().split('\n')).to.deep.equal(['next 1', 'next 2', 'next 3', 'complete after 3 values']);
    });

    it("prints the server's error code when the stream fails", async () => {
      const out = await (await open()).run('stream nothing');
      expect(out.trim()).to.match(/^error ERR_NO_HANDLER: /);
    });

    it('Ctrl-C cancels the stream (the server stops producing) and keeps the console', async () => {
      let unsubscribed = false;
      server.bindAction('ticks', () => interval(5).pipe(finalize(() => (unsubscribed = true))));
      const h = new ConsoleHarness(client, undefined, { terminal: true });
      harness = h;
      await until(() => h.text.includes('(connected)> '), WAIT_MS, 'the prompt');
      const from = h.text.length;
      h.input.write('stream ticks\r');
      await h.waitFor('next 2', from);
      h.input.write('\x03');
      await h.waitFor(/cancelled after \d+ values/, from);
      await until(() => unsubscribed, WAIT_MS, 'the server to stop producing');
      expect(client.state).to.equal('connected');
      // The console is still there and takes the next command.
      const after = h.text.length;
      h.input.write('status\r');
      await h.waitFor(/state\s+connected/, after);
    });

    it('shows the usage when the action is missing', async () => {
      expect((await (await open()).run('stream')).trim()).to.equal('usage: stream <action> [json]');
    });
  });

  describe('request', () => {
    it('prints the reply', async () => {
      const out = await (await open()).run('request echo {"a": [1, 2]}');
      expect(out.trim()).to.equal('reply {"a":[1,2]}');
    });

    it("prints the error's code and message when nothing handles the action", async () => {
      const out = await (await open()).run('request missing');
      expect(out.trim()).to.match(/^error ERR_NO_HANDLER: .*missing/);
    });

    it("prints the error's code and message when the handler throws", async () => {
      const out = await (await open()).run('request fail');
      expect(out.trim()).to.match(/^error ERR_HANDLER: /);
      expect(out).not.to.match(/\n\s+at /);
    });
  });

  describe('log', () => {
    it('prints packets from the server while on', async () => {
      const h = await open();
      await h.run('log on');
      const from = h.text.length;
      await server.broadcast('news', { headline: 'hi' });
      const out = await h.waitFor(/← server news \{"headline":"hi"\}/, from);
      expect(out).not.to.include(client.token!);
      expect((await h.run('log off')).trim()).to.equal('log is off');
    });
  });

  describe('reconnect', () => {
    it('connects again with a new token', async () => {
      const before = client.token;
      const out = await (await open()).run('reconnect');
      expect(out).to.include('reconnected (connected)');
      expect(client.state).to.equal('connected');
      expect(client.token).to.be.a('string').and.not.equal(before);
    });

    it('send while the client reconnects says the packet is queued and gives the prompt back', async () => {
      const h = await open();
      const from = h.text.length;
      const port = server.address().port;
      await server.stop();
      await h.waitFor('connection reconnecting', from);
      const out = await h.run('send hello 1');
      expect(out.trim()).to.equal('queued hello (reconnecting: it goes out once connected)');
      server = new Server({ port });
      const seen: unknown[] = [];
      server.bindAction('hello', (n: unknown) => void seen.push(n));
      await server.start();
      await until(() => seen.length === 1, WAIT_MS, 'the queued packet to arrive');
      expect(seen).to.deep.equal([1]);
    });

    it('reconnect while the server is down says the client goes on trying, and it connects once the server is back', async () => {
      const h = await open();
      const port = server.address().port;
      await server.stop();
      await h.waitFor('connection reconnecting');
      const out = await h.run('reconnect');
      expect(out).to.include('could not connect: the client goes on trying');
      server = new Server({ port });
      await server.start();
      await until(() => client.state === 'connected', WAIT_MS, 'the client to reconnect');
    });

    it('send on a client that has stopped says it is not connected, without saying it is queued', async () => {
      const h = await open();
      await client.stop();
      const out = await h.run('send hello 1');
      expect(out.trim()).to.match(/^error ERR_NOT_CONNECTED: /);
    });

    it('updates the prompt when the state changes', async () => {
      const h = await open();
      const from = h.text.length;
      await client.stop();
      await h.waitFor('connection closed', from);
      expect(await h.run('status')).to.match(/^state\s+closed$/m);
      expect(h.text).to.match(/client \(closed\)> $/);
    });
  });

  describe('leaving', () => {
    it("'quit' stops the client and resolves processCommand", async () => {
      const h = await open();
      h.input.write('quit\n');
      await withDeadline(h.done, WAIT_MS, 'processCommand');
      harness = null;
      expect(client.state).to.equal('closed');
      await until(() => server.clients.size === 0, WAIT_MS, 'the server to see the client leave');
    });

    it('Ctrl-D stops the client', async () => {
      const h = await open();
      await h.end();
      harness = null;
      expect(client.state).to.equal('closed');
    });

    it('after end of input, close() (SIGINT, SIGTERM) cancels a stream that still runs and stops the client', async () => {
      let unsubscribed = false;
      server.bindAction('ticks', () => interval(5).pipe(finalize(() => (unsubscribed = true))));
      const h = await open();
      const from = h.text.length;
      h.input.write('stream ticks\n');
      await h.waitFor('next 2', from);
      // A piped script that ends: the stream it started goes on (it may be finite), until a signal.
      h.input.end();
      await h.waitFor('next 4', from);
      await withDeadline(h.cli.close(), WAIT_MS, 'close()');
      harness = null;
      expect(h.text.slice(from)).to.match(/cancelled after \d+ values/);
      expect(client.state).to.equal('closed');
      await until(() => unsubscribed, WAIT_MS, 'the server to stop producing');
    });

    it('close() (SIGINT, SIGTERM) while the commands typed before end of input still run ends them and stops', async () => {
      server.bindAction('never', () => new Promise(() => undefined));
      const h = await open();
      const from = h.text.length;
      h.input.write('request never\n');
      h.input.end();
      await withDeadline(h.cli.close(), WAIT_MS, 'close()');
      harness = null;
      expect(client.state).to.equal('closed');
      expect(h.text.slice(from)).to.include('client stopped');
    });

    it('unknown commands get a suggestion', async () => {
      expect((await (await open()).run('reqest echo 1')).trim()).to.equal("unknown command 'reqest' — did you mean 'request'?");
    });
  });
});
