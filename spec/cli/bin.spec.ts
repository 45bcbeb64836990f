import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../lib/client.js';
import { loadKeys } from '../../lib/crypto/keys.js';
import { until, withDeadline } from '../helpers/wait.js';
import { WAIT_MS } from './console-harness.js';
import { childEnv } from '../helpers/child-env.js';

/** A `pnetwork` child process with its output collected and its exit awaited. */
class Bin {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout = '';
  stderr = '';

  constructor(args: readonly string[], stdin: 'pipe' | 'ignore' = 'pipe') {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/bin.ts', ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: childEnv({ NO_COLOR: '1' }),
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with stdout once it matches `pattern` (from `from` on); fails after the deadline. */
  async waitFor(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    await until(() => pattern.test(this.stdout.slice(from)), WAIT_MS, `${String(pattern)} in stdout (got: ${JSON.stringify(this.stdout + this.stderr)})`);
    return pattern.exec(this.stdout.slice(from))!;
  }

  type(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  exitCode(): Promise<number | null> {
    return withDeadline(this.exited, WAIT_MS, 'the process to exit');
  }
}

describe('pnetwork (bin)', () => {
  let children: Bin[];
  const run = (args: readonly string[], stdin: 'pipe' | 'ignore' = 'pipe'): Bin => {
    const bin = new Bin(args, stdin);
    children.push(bin);
    return bin;
  };

  beforeEach(() => {
    children = [];
  });

  afterEach(async () => {
    for (const bin of children) {
      if (bin.child.exitCode === null && bin.child.signalCode === null) bin.child.kill('SIGKILL');
    }
    await Promise.all(children.map((bin) => bin.exited));
  });

  it('serve and connect: a packet sent by the client shows in the server log', async () => {
    const server = run(['serve', '--port', '0']);
    const port = (await server.waitFor(/pnetwork server listening on 127\.0\.0\.1:(\d+)/))[1]!;
    await server.waitFor(/server \(listening\)> $/);
    server.type('log on');
    await server.waitFor(/log is on for every action/);

    const client = run(['connect', `127.0.0.1:${port}`]);
    await client.waitFor(/connected to 127\.0\.0\.1:\d+/);
    await client.waitFor(/client \(connected\)> $/);
    client.type('send hello {"x":1}');
    await client.waitFor(/sent hello/);
    const logged = await server.waitFor(/← [0-9a-f]{16} 127\.0\.0\.1:\d+ hello \{"x":1\}/);
    expect(logged[0]).to.match(/^← /);

    let from = client.stdout.length;
    client.type('request echo {"n":[1,2]}');
    await client.waitFor(/reply \{"n":\[1,2\]\}/, from);

    from = server.stdout.length;
    server.type('clients');
    await server.waitFor(/^ID\s+ADDRESS\s+ROOMS\s+SUBJECT\s+CONNECTED\s+IN\s+OUT$/m, from);

    client.type('quit');
    expect(await client.exitCode()).to.equal(0);
    expect(client.stdout).to.include('client stopped');
    server.child.stdin!.end(); // Ctrl-D
    expect(await server.exitCode()).to.equal(0);
    expect(server.stdout).to.include('server stopped');
  });

  it('keygen writes a key pair and certificate; serve --tls and connect --tls --pin use them; status says TLS', async function () {
    // Four child processes in a row, each starting tsx.
    this.timeout(90_000);
    const dir = join(await mkdtemp(join(tmpdir(), 'pnetwork-keygen-')), 'keys');
    try {
      const keygen = run(['keygen', '--bits', '2048', '--out', dir, '--cert'], 'ignore');
      expect(await keygen.exitCode()).to.equal(0);
      const fp = /^fingerprint (\S+)$/m.exec(keygen.stdout)?.[1];
      expect(fp).to.match(/^[A-Za-z0-9+/]{43}=$/);
      expect((await stat(join(dir, 'private-key.pem'))).mode & 0o777).to.equal(0o600);
      expect((await loadKeys(dir)).fingerprint).to.equal(fp);
      expect(keygen.stdout).to.not.include('PRIVATE KEY');
      const again = run(['keygen', '--bits', '2048', '--out', dir], 'ignore');
      expect(await again.exitCode()).to.equal(1);
      expect(again.stderr).to.include('already exists');

      const server = run(['serve', '--port', '0', '--tls', '--keys', dir]);
      const port = (await server.waitFor(/pnetwork server listening on 127\.0\.0\.1:(\d+)/))[1]!;
      await server.waitFor(new RegExp(`TLS 1\\.3, key fingerprint ${fp!.replace(/[+/]/g, '\\$&')}`));
      await server.waitFor(/server \(listening\)> $/);
      const client = run(['connect', `127.0.0.1:${port}`, '--tls', '--pin', fp!]);
      await client.waitFor(/connected to 127\.0\.0\.1:\d+ over TLS 1\.3/);
      await client.waitFor(/client \(connected\)> $/);
      const from = client.stdout.length;
      client.type('status');
      await client.waitFor(/^transport\s+TLS 1\.3 \(encrypted\)$/m, from);
      expect(client.stdout.slice(from).split('\n').some((line) => /^server key\s+\S+$/.test(line) && line.endsWith(fp!))).to.equal(true);
      client.type('quit');
      expect(await client.exitCode()).to.equal(0);
      server.child.stdin!.end();
      expect(await server.exitCode()).to.equal(0);
    } finally {
      await rm(join(dir, '..'), { recursive: true, force: true });
    }
  });

  it('serve --encrypt --keys and connect --pin speak the secure channel; status shows the mode, the server key and the records', async function () {
    this.timeout(90_000);
    const dir = join(await mkdtemp(join(tmpdir(), 'pnetwork-channel-')), 'keys');
    try {
      const keygen = run(['keygen', '--bits', '2048', '--out', dir], 'ignore');
      expect(await keygen.exitCode()).to.equal(0);
      const fp = /^fingerprint (\S+)$/m.exec(keygen.stdout)?.[1];
      const server = run(['serve', '--port', '0', '--encrypt', '--keys', dir]);
      const port = (await server.waitFor(/pnetwork server listening on 127\.0\.0\.1:(\d+)/))[1]!;
      await server.waitFor(/^secure channel, key fingerprint \S+/m);
      await server.waitFor(/server \(listening\)> $/);
      const client = run(['connect', `127.0.0.1:${port}`, '--pin', fp!]);
      await client.waitFor(/connected to 127\.0\.0\.1:\d+ over the secure channel/);
      await client.waitFor(/client \(connected\)> $/);
      const from = client.stdout.length;
      client.type('status');
      await client.waitFor(/^records\s+sent \d+ {2}received \d+$/m, from);
      const status = client.stdout.slice(from);
      expect(status).to.match(/^transport\s+secure channel \(encrypted, forward secret\)$/m);
      expect(status.split('\n').some((line) => /^server key\s+\S+$/.test(line) && line.endsWith(fp!))).to.equal(true);
      client.type('quit');
      expect(await client.exitCode()).to.equal(0);
      const serverFrom = server.stdout.length;
      server.type('status');
      await server.waitFor(/^transport\s+secure channel/m, serverFrom);
      server.child.stdin!.end();
      expect(await server.exitCode()).to.equal(0);
    } finally {
      await rm(join(dir, '..'), { recursive: true, force: true });
    }
  });

  it('connect --tls without --pin is a usage error', async () => {
    const client = run(['connect', '--tls'], 'ignore');
    expect(await client.exitCode()).to.equal(2);
    expect(client.stderr).to.include('--pin');
  });

  it('serve --no-console runs with stdin closed and stops on SIGTERM', async () => {
    const server = run(['serve', '--port', '0', '--no-console'], 'ignore');
    const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const client = new Client({ port });
    try {
      await client.start();
      expect(await client.request('echo', 'still here')).to.equal('still here');
    } finally {
      await client.stop();
    }
    server.child.kill('SIGTERM');
    expect(await server.exitCode()).to.equal(0);
    expect(server.stdout).to.include('pnetwork server stopped');
    expect(server.stderr).to.equal('');
  });

  it('serve --no-echo binds no echo action', async () => {
    const server = run(['serve', '--port', '0', '--no-echo']);
    await server.waitFor(/\(listening\)> $/);
    const from = server.stdout.length;
    server.type('actions');
    await server.waitFor(/no actions bound/, from);
    server.type('quit');
    expect(await server.exitCode()).to.equal(0);
  });

  // Every usage error is covered in-process (args.spec.ts); these check the real exit code and streams.
  for (const [args, message] of [
    [[], /^pnetwork: missing command\n\nusage: pnetwork <command>/],
    [['serve', '--bogus'], /^pnetwork: unknown option '--bogus'\n\nusage: pnetwork serve/],
    [['serve', '--port', 'http'], /^pnetwork: invalid port 'http' — expected 0–65535\n\nusage: pnetwork serve/],
  ] as const) {
    it(`exits 2 with usage on stderr for: pnetwork ${args.join(' ')}`, async () => {
      const bin = run(args, 'ignore');
      expect(await bin.exitCode()).to.equal(2);
      expect(bin.stderr).to.match(message);
      expect(bin.stdout).to.equal('');
    });
  }

  it('exits 1 when it cannot connect', async () => {
    const bin = run(['connect', '127.0.0.1:1'], 'ignore');
    expect(await bin.exitCode()).to.equal(1);
    expect(bin.stderr).to.match(/^pnetwork: error ERR_NOT_CONNECTED: /);
    expect(bin.stderr).not.to.match(/\n\s+at /);
  });

  it('--version prints the version and --help the usage, exiting 0', async () => {
    const version = run(['--version'], 'ignore');
    const help = run(['--help'], 'ignore');
    expect(await version.exitCode()).to.equal(0);
    expect(version.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
    expect(await help.exitCode()).to.equal(0);
    expect(help.stdout).to.match(/^usage: pnetwork <command> \[options\]/);
  });
});
