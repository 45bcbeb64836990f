import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { EXIT, parseCommandLine, parseHostPort, parsePort, usage, UsageError, type BinIo, type SubcommandTable } from '../../lib/cli/args.js';
import { main, packageVersion, SUBCOMMANDS } from '../../lib/cli/main.js';
import { Client } from '../../lib/client.js';
import { until } from '../helpers/wait.js';
import { WAIT_MS } from './console-harness.js';

/** In-memory streams for main(), plus a signal the spec can raise. */
function memoryIo(): BinIo & { out: () => string; err: () => string; raise: (signal: NodeJS.Signals) => void } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const handlers = new Set<(signal: NodeJS.Signals) => void>();
  return {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: {},
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    out: () => out,
    err: () => err,
    raise: (signal) => [...handlers].forEach((handler) => handler(signal)),
  };
}

function usageErrorOf(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, SUBCOMMANDS);
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('args', () => {
  describe('parseCommandLine', () => {
    it('reads serve and its options', () => {
      const invocation = parseCommandLine(['serve', '--host', '0.0.0.0', '-p', '0', '--no-console', '--no-echo'], SUBCOMMANDS);
      expect(invocation.kind).to.equal('run');
      if (invocation.kind !== 'run') return;
      expect(invocation.name).to.equal('serve');
      expect(invocation.args.values).to.deep.equal({ host: '0.0.0.0', port: '0', 'no-console': true, 'no-echo': true });
    });

    it('reads connect and its address', () => {
      const invocation = parseCommandLine(['connect', 'example.org:4000'], SUBCOMMANDS);
      expect(invocation.kind === 'run' && invocation.args.positionals).to.deep.equal(['example.org:4000']);
    });

    it('reads --help and --version, globally and per subcommand', () => {
      expect(parseCommandLine(['--help'], SUBCOMMANDS)).to.deep.equal({ kind: 'help' });
      expect(parseCommandLine(['-h'], SUBCOMMANDS)).to.deep.equal({ kind: 'help' });
      expect(parseCommandLine(['--version'], SUBCOMMANDS)).to.deep.equal({ kind: 'version' });
      expect(parseCommandLine(['serve', '--help'], SUBCOMMANDS)).to.deep.equal({ kind: 'help', subcommand: 'serve' });
    });

    it('rejects a missing or unknown subcommand, with a suggestion', () => {
      expect(usageErrorOf([]).message).to.equal('missing command');
      expect(usageErrorOf(['sevre']).message).to.equal("unknown command 'sevre' — did you mean 'serve'?");
      expect(usageErrorOf(['toString']).message).to.match(/^unknown command 'toString'/);
      expect(usageErrorOf(['--bogus']).message).to.equal("unknown option '--bogus'");
    });

    it('rejects unknown options, missing values and extra arguments, naming the subcommand', () => {
      const unknown = usageErrorOf(['serve', '--bogus']);
      expect(unknown.message).to.equal("unknown option '--bogus'");
      expect(unknown.subcommand).to.equal('serve');
      expect(usageErrorOf(['serve', '--port']).message).to.equal("option '-p, --port <value>' argument missing");
      expect(usageErrorOf(['serve', 'extra']).message).to.equal("unexpected argument 'extra'");
      expect(usageErrorOf(['connect', 'a:1', 'b:2']).message).to.equal("unexpected argument 'b:2'");
    });

    it('takes new subcommands from the table', () => {
      const table: SubcommandTable = {
        ping: { summary: 'ping', maxPositionals: 1, options: { count: { type: 'string', short: 'c', description: 'how many' } }, run: () => Promise.resolve(0) },
      };
      const invocation = parseCommandLine(['ping', '-c', '3', 'host'], table);
      expect(invocation.kind === 'run' && invocation.args).to.deep.equal({ values: { count: '3' }, positionals: ['host'] });
      expect(usage(table)).to.match(/^ {2}ping\s+ping$/m);
      expect(usage(table, 'ping')).to.include('-c, --count <value>');
    });
  });

  describe('usage', () => {
    it('lists every subcommand and the exit codes', () => {
      const text = usage(SUBCOMMANDS);
      expect(text).to.match(/^usage: pnetwork <command> \[options\]/);
      expect(text).to.match(/^ {2}serve\s+start a server/m);
      expect(text).to.match(/^ {2}connect \[host:port\]\s+connect to a server/m);
      expect(text).to.include('exit codes: 0 success, 1 runtime failure, 2 usage error');
    });

    it("shows a subcommand's options", () => {
      const text = usage(SUBCOMMANDS, 'serve');
      expect(text).to.match(/^usage: pnetwork serve \[--host <host>\] \[--port <port>\] \[--no-console\] \[--no-echo\] \[--tls\] \[--encrypt\] \[--keys <dir>\]$/m);
      expect(text).to.match(/-p, --port <port>\s+port to listen on/);
    });
  });

  describe('parsePort', () => {
    it('accepts 1–65535, and 0 where allowed', () => {
      expect(parsePort('25565', false)).to.equal(25565);
      expect(parsePort('0', true)).to.equal(0);
    });

    it('rejects everything else', () => {
      for (const text of ['0', '65536', '-1', 'abc', '1.5', '']) {
        expect(() => parsePort(text, false), text).to.throw(UsageError, /^invalid port/);
      }
    });
  });

  describe('parseHostPort', () => {
    const defaults = { host: '127.0.0.1', port: 25565 };

    it('reads host:port, a bare host, a bare port and bracketed IPv6', () => {
      expect(parseHostPort('example.org:4000', defaults)).to.deep.equal({ host: 'example.org', port: 4000 });
      expect(parseHostPort('example.org', defaults)).to.deep.equal({ host: 'example.org', port: 25565 });
      expect(parseHostPort('4000', defaults)).to.deep.equal({ host: '127.0.0.1', port: 4000 });
      expect(parseHostPort('[::1]:4000', defaults)).to.deep.equal({ host: '::1', port: 4000 });
      expect(parseHostPort('::1', defaults)).to.deep.equal({ host: '::1', port: 25565 });
    });

    it('rejects an empty host or a bad port', () => {
      expect(() => parseHostPort(':4000', defaults)).to.throw(UsageError, /invalid address/);
      expect(() => parseHostPort('host:http', defaults)).to.throw(UsageError, /invalid port 'http'/);
    });
  });

  describe('main', () => {
    it('prints help to stdout and exits 0', async () => {
      const io = memoryIo();
      expect(await main(['--help'], io)).to.equal(EXIT.OK);
      expect(io.out()).to.match(/^usage: pnetwork/);
      expect(io.err()).to.equal('');
    });

    it("prints package.json's version", async () => {
      const io = memoryIo();
      expect(await main(['--version'], io)).to.equal(EXIT.OK);
      expect(io.out().trim()).to.equal(packageVersion()).and.match(/^\d+\.\d+\.\d+/);
    });

    it('exits 2 with the error and usage on stderr for a usage error', async () => {
      for (const argv of [[], ['bogus'], ['serve', '--bogus'], ['serve', '--port', 'abc'], ['connect', 'h:1', 'x']]) {
        const io = memoryIo();
        expect(await main(argv, io), argv.join(' ')).to.equal(EXIT.USAGE);
        expect(io.err(), argv.join(' ')).to.match(/^pnetwork: .+\n\nusage: pnetwork/);
        expect(io.out()).to.equal('');
      }
    });

    it("shows the subcommand's usage for a bad value found while running it", async () => {
      const io = memoryIo();
      expect(await main(['serve', '--port', '99999'], io)).to.equal(EXIT.USAGE);
      expect(io.err()).to.match(/^pnetwork: invalid port '99999' — expected 0–65535\n\nusage: pnetwork serve /);
    });

    it('exits 1 with one line on stderr when it cannot connect', async () => {
      const io = memoryIo();
      expect(await main(['connect', '127.0.0.1:1'], io)).to.equal(EXIT.FAILURE);
      expect(io.err()).to.match(/^pnetwork: error ERR_NOT_CONNECTED: could not connect to 127\.0\.0\.1:1/);
      expect(io.err().trim().split('\n')).to.have.length(1);
    });

    it('serve --no-console listens, answers echo, and stops on a signal', async () => {
      const io = memoryIo();
      const exit = main(['serve', '--port', '0', '--no-console'], io);
      await until(() => /listening on/.test(io.out()), WAIT_MS, 'the listening line');
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(io.out())?.[1]);
      const client = new Client({ port });
      await client.start();
      expect(await client.request('echo', { hi: 1 })).to.deep.equal({ hi: 1 });
      await client.stop();
      io.raise('SIGTERM');
      expect(await exit).to.equal(EXIT.OK);
      expect(io.out()).to.include('pnetwork server stopped');
    });

    it('serve exits 1 when the port is taken', async () => {
      const first = memoryIo();
      const running = main(['serve', '--port', '0', '--no-console'], first);
      await until(() => /listening on/.test(first.out()), WAIT_MS, 'the listening line');
      const port = /127\.0\.0\.1:(\d+)/.exec(first.out())![1]!;
      const second = memoryIo();
      expect(await main(['serve', '--port', port, '--no-console'], second)).to.equal(EXIT.FAILURE);
      expect(second.err()).to.match(/^pnetwork: error ERR_LISTEN: cannot listen on 127\.0\.0\.1:\d+: listen EADDRINUSE/);
      first.raise('SIGINT');
      expect(await running).to.equal(EXIT.OK);
    });
  });
});
